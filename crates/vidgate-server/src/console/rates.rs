//! `/console/rates`: the rate card. An account sees what `GET /v1/models` answers its key
//! (prices, lengths, sizes, whether a route serves it); the operator sees every model with
//! its routes, what each upstream charges per second and the margin left per second.

use axum::extract::State;

use super::html::{esc, ok};
use super::{PageResult, Signed, Who};
use crate::AppState;
use crate::extract::ApiCaller;

/// `GET /console/rates`.
pub async fn page(State(state): State<AppState>, signed: Signed) -> PageResult {
    let mut body = String::from(
        "<h1>Rate card</h1><div class=\"table-wrap\"><table id=\"rates\"><thead><tr><th scope=\"col\">Model</th>\
         <th scope=\"col\" class=\"num\">USD per second</th><th scope=\"col\">By size</th><th scope=\"col\">Lengths (s)</th>\
         <th scope=\"col\">Sizes</th><th scope=\"col\">Cancel</th>",
    );
    match &signed.who {
        Who::Account(caller) => {
            body.push_str("<th scope=\"col\">Available</th></tr></thead><tbody>");
            let list = crate::routes::models::list(State(state.clone()), ApiCaller(caller.as_ref().clone())).await.0;
            for m in &list.data {
                let by_size: Vec<String> = m.pricing.per_size.iter().map(|(s, p)| format!("{s}: {p}")).collect();
                body.push_str(&format!(
                    "<tr data-model=\"{id}\"><th scope=\"row\">{id}<br><span class=\"hint\">{aliases}</span></th><td class=\"num\">{price}</td>\
                     <td>{sizes_priced}</td><td>{durations}</td><td>{sizes}</td><td>{cancel}</td><td>{available}</td></tr>",
                    id = esc(&m.id),
                    aliases = esc(&m.aliases.join(", ")),
                    price = m.pricing.usd_per_second,
                    sizes_priced = esc(&by_size.join(", ")),
                    durations = join(&m.durations),
                    sizes = esc(&m.sizes.join(", ")),
                    cancel = m.cancel_policy,
                    available = if m.available { "yes" } else { "no" },
                ));
            }
        }
        Who::Operator => {
            body.push_str(
                "<th scope=\"col\">Routes: upstream cost and margin per second (USD)</th></tr></thead><tbody>",
            );
            let upstreams = &state.gateway.config.upstreams;
            for m in state.gateway.catalog.models() {
                let routes: Vec<String> = m
                    .routes
                    .iter()
                    .map(|r| {
                        match upstreams.iter().find(|u| &u.name == r).and_then(|u| u.usd_per_second.get("default")) {
                            Some(cost) => format!("{}: cost {cost}, margin {}", esc(r), m.usd_per_second.minus(*cost)),
                            None => format!("{}: cost not configured", esc(r)),
                        }
                    })
                    .collect();
                let by_size: Vec<String> = m.price_by_size.iter().map(|(s, p)| format!("{s}: {p}")).collect();
                let sizes: Vec<String> = m.sizes.iter().map(ToString::to_string).collect();
                body.push_str(&format!(
                    "<tr data-model=\"{id}\"><th scope=\"row\">{id}<br><span class=\"hint\">{aliases}</span></th><td class=\"num\">{price}</td>\
                     <td>{sizes_priced}</td><td>{durations}</td><td>{sizes}</td><td>{cancel}</td><td>{routes}</td></tr>",
                    id = esc(&m.id),
                    aliases = esc(&m.aliases.join(", ")),
                    price = m.usd_per_second,
                    sizes_priced = esc(&by_size.join(", ")),
                    durations = join(&m.durations),
                    sizes = esc(&sizes.join(", ")),
                    cancel = match m.cancel_policy {
                        vidgate_domain::catalog::CancelPolicy::Free => "free",
                        vidgate_domain::catalog::CancelPolicy::Charge => "charge",
                    },
                    routes = if routes.is_empty() { "none (test keys and the sandbox only)".to_owned() } else { routes.join("<br>") },
                ));
            }
        }
    }
    body.push_str("</tbody></table></div>");
    Ok(ok("Rate card", &signed, &body))
}

fn join(values: &[u32]) -> String {
    values.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}
