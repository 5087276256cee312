//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations and
//! the types they take and return. Every route must be listed here; a test checks that.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::openai::{content, create, read};
use crate::routes::{admin, models, money, ops, stream, tasks, videos, webhooks};

/// The API document.
#[derive(OpenApi)]
#[openapi(
    info(title = "vidgate", description = "A self-hosted gateway for video-generation models."),
    paths(
        videos::submit, videos::get_task, tasks::submit, tasks::query_body, tasks::query_get, tasks::cancel_path,
        tasks::cancel_body, stream::stream, webhooks::deliveries, models::list, models::get_one,
        create::create, read::retrieve, read::list, read::delete, content::download, create::remix,
        admin::create_account, admin::get_account, admin::rotate_secret, admin::add_credits,
        admin::create_key, admin::list_keys, admin::revoke_key, admin::search_tasks,
        admin::list_accounts, admin::update_account, admin::get_key, admin::update_key, admin::list_audit,
        money::balance, money::usage, money::admin_usage,
        ops::healthz, ops::readyz, ops::metrics, ops::openapi,
    ),
    modifiers(&Security)
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
