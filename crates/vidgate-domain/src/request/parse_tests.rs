//! Tests of [`super::parse_submit`]: one refusal test per rule (exact code, status and
//! `param`), and the shapes that must parse to exact typed requests.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::*;
use crate::catalog::CancelPolicy;
use crate::money::Usd;
use crate::request::{GuideRole, ImageMime, SourceImageInput};

static LIMITS: SubmitLimits =
    SubmitLimits { max_image_bytes: 10 * 1024 * 1024, allow_http_source_urls: false, allow_http_callback_urls: false };

static OPEN_LIMITS: SubmitLimits =
    SubmitLimits { max_image_bytes: 10 * 1024 * 1024, allow_http_source_urls: true, allow_http_callback_urls: true };

/// `POST /v1/tasks/submit`: the envelope is allowed.
fn submit() -> ParseOptions<'static> {
    ParseOptions { allow_params_envelope: true, idempotency_header: None, limits: &LIMITS }
}

/// `POST /v1/videos/generations`: flat fields only.
fn generations() -> ParseOptions<'static> {
    ParseOptions { allow_params_envelope: false, ..submit() }
}

fn with_header(key: &'static str) -> ParseOptions<'static> {
    ParseOptions { idempotency_header: Some(key), ..submit() }
}

fn parse(body: Value) -> Result<SubmitRequest, RequestError> {
    parse_submit(&body, &Catalog::shipped(), &submit())
}

fn ok(body: Value) -> SubmitRequest {
    parse(body).unwrap_or_else(|e| panic!("expected a request, got {e:?}"))
}

fn refusal(body: Value) -> RequestError {
    refusal_with(body, &Catalog::shipped(), &submit())
}

fn refusal_with(body: Value, catalog: &Catalog, opts: &ParseOptions) -> RequestError {
    match parse_submit(&body, catalog, opts) {
        Ok(req) => panic!("expected a refusal, got {req:?}"),
        Err(e) => e,
    }
}

#[track_caller]
fn assert_refused(err: &RequestError, code: ErrorCode, status: u16, param: &str) {
    assert_eq!((err.code, err.code.status(), err.param.as_deref()), (code, status, Some(param)), "{err}");
}

/// A minimal valid flat body for veo3.1 with `extra` fields merged in.
fn flat(extra: Value) -> Value {
    let mut body = json!({"model": "veo3.1", "prompt": "rain"});
    merge(&mut body, extra);
    body
}

/// A minimal valid envelope body for veo3.1 with `extra` merged into `params`.
fn envelope(extra: Value) -> Value {
    let mut params = json!({"prompt": "rain"});
    merge(&mut params, extra);
    json!({"model": "veo3.1", "params": params})
}

fn merge(into: &mut Value, extra: Value) {
    let target = into.as_object_mut().unwrap();
    for (k, v) in extra.as_object().unwrap() {
        target.insert(k.clone(), v.clone());
    }
}

fn expected(prompt: &str) -> SubmitRequest {
    SubmitRequest {
        model: "veo3.1".into(),
        prompt: prompt.into(),
        duration_seconds: 5,
        size: Size::new(1280, 720),
        audio: false,
        source_image: None,
        seed: None,
        negative_prompt: None,
        guides: Default::default(),
        out_task_id: None,
        callback_url: None,
        metadata: BTreeMap::new(),
    }
}

fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(&[0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0, 0, 1, 0, 0, 0, 1]);
    bytes
}

fn data_uri(mime: &str, bytes: &[u8]) -> String {
    format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn spec(id: &str, sizes: &[Size], default_size: Size) -> ModelSpec {
    ModelSpec {
        id: id.into(),
        aliases: vec![],
        owned_by: "test".into(),
        image_to_video: false,
        native_audio: false,
        last_frame: false,
        reference_images: false,
        durations: vec![4],
        default_duration: 4,
        sizes: sizes.to_vec(),
        default_size,
        max_prompt_chars: 100,
        usd_per_second: Usd(1),
        price_by_size: BTreeMap::new(),
        cancel_policy: CancelPolicy::Free,
        routes: vec![],
    }
}

/// `tiny`: no image input, default size 160x90 (no resolution name), 1280x720 also offered.
/// `wide`: landscape 720p only.
fn tiny_catalog() -> Catalog {
    let (tiny, hd) = (Size::new(160, 90), Size::new(1280, 720));
    Catalog::new(vec![spec("tiny", &[tiny, hd], tiny), spec("wide", &[hd], hd)]).unwrap()
}

fn tiny(extra: Value) -> RequestError {
    let mut body = json!({"model": "tiny", "prompt": "rain"});
    merge(&mut body, extra);
    refusal_with(body, &tiny_catalog(), &submit())
}

// ---- the happy paths ----

#[test]
fn the_seed_quickstart_body_parses_to_the_exact_request() {
    let req = ok(
        json!({"model":"veo3.1","prompt":"Rain falling on a quiet street at night, distant car passing","duration_seconds":5,"size":"1280x720","audio":true}),
    );
    let want =
        SubmitRequest { audio: true, ..expected("Rain falling on a quiet street at night, distant car passing") };
    assert_eq!(req, want);
}

#[test]
fn omitted_fields_take_the_model_defaults() {
    assert_eq!(ok(flat(json!({}))), expected("rain"));
    let sora = parse_submit(&json!({"model": "sora2", "prompt": "rain"}), &Catalog::shipped(), &generations()).unwrap();
    assert_eq!((sora.model.as_str(), sora.duration_seconds, sora.size), ("sora2", 5, Size::new(1280, 720)));
}

#[test]
fn null_optional_fields_mean_omitted() {
    let nulls = json!({"duration_seconds": null, "size": null, "resolution": null, "aspect_ratio": null,
        "audio": null, "source_image": null, "image_init": null, "seed": null, "negative_prompt": null,
        "out_task_id": null, "callback_url": null, "metadata": null, "stream": null, "params": null});
    assert_eq!(ok(flat(nulls)), expected("rain"));
}

#[test]
fn every_optional_field_is_carried_into_the_request() {
    let req = ok(flat(json!({"duration_seconds": 10, "size": "1080x1920", "audio": true,
        "source_image": "https://img.example.com/a.png", "seed": 42, "negative_prompt": "blur",
        "out_task_id": "job-1:a.b_c", "callback_url": "https://hooks.example.com/v", "metadata": {"k": "v"}, "stream": true})));
    let want = SubmitRequest {
        duration_seconds: 10,
        size: Size::new(1080, 1920),
        audio: true,
        source_image: Some(SourceImageInput::Url(Url::parse("https://img.example.com/a.png").unwrap())),
        seed: Some(42),
        negative_prompt: Some("blur".into()),
        out_task_id: Some("job-1:a.b_c".into()),
        callback_url: Some(Url::parse("https://hooks.example.com/v").unwrap()),
        metadata: BTreeMap::from([("k".to_string(), "v".to_string())]),
        ..expected("rain")
    };
    assert_eq!(req, want);
}

#[test]
fn an_alias_resolves_to_the_canonical_model_id() {
    assert_eq!(ok(json!({"model": "veo-3.1", "prompt": "rain"})).model, "veo3.1");
    assert_eq!(ok(json!({"model": "sora-2-pro", "prompt": "rain"})).model, "sora2-pro");
}

#[test]
fn resolution_and_aspect_ratio_give_the_same_request_as_the_matching_size() {
    for (resolution, aspect, size) in [
        ("720p", "16:9", "1280x720"),
        ("720p", "9:16", "720x1280"),
        ("1080p", "16:9", "1920x1080"),
        ("1080p", "9:16", "1080x1920"),
    ] {
        let by_pair = ok(flat(json!({"resolution": resolution, "aspect_ratio": aspect})));
        assert_eq!(by_pair, ok(flat(json!({"size": size}))), "{resolution} {aspect}");
        assert_eq!(by_pair.size.to_string(), size);
        let all_three = ok(flat(json!({"size": size, "resolution": resolution, "aspect_ratio": aspect})));
        assert_eq!(all_three, by_pair);
    }
}

#[test]
fn a_lone_resolution_or_aspect_ratio_takes_the_other_half_from_the_default_size() {
    assert_eq!(ok(flat(json!({"resolution": "1080p"}))).size, Size::new(1920, 1080));
    assert_eq!(ok(flat(json!({"aspect_ratio": "9:16"}))).size, Size::new(720, 1280));
}

#[test]
fn the_envelope_form_parses_to_the_same_request_as_the_flat_form() {
    let fields = json!({"prompt": "rain", "duration_seconds": 10, "size": "1920x1080", "audio": true, "seed": 7});
    let task =
        json!({"out_task_id": "k1", "callback_url": "https://h.example.com/", "metadata": {"a": "b"}, "stream": false});
    let mut flat_body = json!({"model": "veo3.1"});
    merge(&mut flat_body, fields.clone());
    merge(&mut flat_body, task.clone());
    let mut envelope_body = json!({"model": "veo3.1", "params": fields});
    merge(&mut envelope_body, task);
    assert_eq!(ok(envelope_body), ok(flat_body));
}

#[test]
fn model_may_be_sent_inside_params_instead_of_at_the_top() {
    assert_eq!(ok(json!({"params": {"model": "veo-3.1", "prompt": "rain"}})), expected("rain"));
}

#[test]
fn params_null_on_the_submit_endpoint_is_the_flat_form() {
    assert_eq!(ok(flat(json!({"params": null, "duration_seconds": 5}))), expected("rain"));
}

#[test]
fn the_prompt_is_kept_exactly_as_sent() {
    assert_eq!(ok(flat(json!({"prompt": "  rain \n"}))).prompt, "  rain \n");
}

#[test]
fn whole_numbers_written_with_a_zero_fraction_are_integers() {
    let req = ok(flat(json!({"duration_seconds": 10.0, "seed": 7.0})));
    assert_eq!((req.duration_seconds, req.seed), (10, Some(7)));
}

#[test]
fn the_seed_range_ends_at_u32_max() {
    assert_eq!(ok(flat(json!({"seed": 4294967295u64}))).seed, Some(u32::MAX));
    assert_eq!(ok(flat(json!({"seed": 0}))).seed, Some(0));
}

#[test]
fn a_prompt_at_the_limit_counted_in_characters_is_accepted() {
    assert_eq!(ok(flat(json!({"prompt": "é".repeat(4000)}))).prompt.chars().count(), 4000);
    assert!(parse(json!({"model": "sora2", "prompt": "a".repeat(32000)})).is_ok());
}

#[test]
fn an_empty_negative_prompt_is_the_same_as_none() {
    assert_eq!(ok(flat(json!({"negative_prompt": ""}))).negative_prompt, None);
    assert_eq!(ok(flat(json!({"negative_prompt": "  "}))).negative_prompt, None);
}

#[test]
fn audio_false_is_fine_on_a_model_without_native_audio() {
    assert!(!ok(json!({"model": "veo3.1-fast", "prompt": "rain", "audio": false})).audio);
}

#[test]
fn a_png_data_uri_is_decoded_into_inline_bytes() {
    let req = ok(flat(json!({"source_image": data_uri("image/png", &png())})));
    assert_eq!(req.source_image, Some(SourceImageInput::Inline { mime: ImageMime::Png, bytes: png() }));
}

#[test]
fn base64_is_accepted_with_or_without_padding() {
    let bytes = [png(), vec![1]].concat();
    let padded = data_uri("image/png", &bytes);
    assert!(padded.ends_with('='), "{padded}");
    let unpadded = padded.trim_end_matches('=').to_owned();
    let want = Some(SourceImageInput::Inline { mime: ImageMime::Png, bytes });
    assert_eq!(ok(flat(json!({"source_image": padded}))).source_image, want);
    assert_eq!(ok(flat(json!({"image_init": unpadded}))).source_image, want);
}

#[test]
fn jpeg_and_webp_data_uris_are_recognised_by_their_magic() {
    let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
    let webp = *b"RIFF\x10\0\0\0WEBPVP8 ";
    let req = ok(flat(json!({"image_init": data_uri("image/jpg", &jpeg)})));
    assert_eq!(req.source_image, Some(SourceImageInput::Inline { mime: ImageMime::Jpeg, bytes: jpeg.to_vec() }));
    let req = ok(flat(json!({"source_image": data_uri("image/webp", &webp)})));
    assert_eq!(req.source_image, Some(SourceImageInput::Inline { mime: ImageMime::Webp, bytes: webp.to_vec() }));
}

#[test]
fn http_urls_are_accepted_when_config_allows_them() {
    let opts = ParseOptions { limits: &OPEN_LIMITS, ..submit() };
    let body = flat(json!({"source_image": "http://10.0.0.1/a.png", "callback_url": "http://localhost:9/hook"}));
    let req = parse_submit(&body, &Catalog::shipped(), &opts).unwrap();
    assert_eq!(req.source_image, Some(SourceImageInput::Url(Url::parse("http://10.0.0.1/a.png").unwrap())));
    assert_eq!(req.callback_url.unwrap().as_str(), "http://localhost:9/hook");
}

#[test]
fn the_idempotency_header_alone_becomes_the_out_task_id() {
    let req = parse_submit(&flat(json!({})), &Catalog::shipped(), &with_header("hdr-1")).unwrap();
    assert_eq!(req.out_task_id.as_deref(), Some("hdr-1"));
    let same = parse_submit(&flat(json!({"out_task_id": "hdr-1"})), &Catalog::shipped(), &with_header("hdr-1"));
    assert_eq!(same.unwrap().out_task_id.as_deref(), Some("hdr-1"));
}

#[test]
fn out_task_id_may_be_128_characters() {
    let key = "a".repeat(128);
    assert_eq!(ok(flat(json!({"out_task_id": key}))).out_task_id, Some(key));
}

#[test]
fn sixteen_metadata_pairs_with_long_keys_and_values_are_accepted() {
    let pairs: Map<String, Value> = (0..16).map(|i| (format!("{i:0>64}"), Value::String("v".repeat(512)))).collect();
    assert_eq!(ok(flat(json!({"metadata": pairs}))).metadata.len(), 16);
}

// ---- the body and its shape ----

#[test]
fn a_body_that_is_not_an_object_is_invalid_json() {
    for body in [json!([]), json!("x"), json!(1), Value::Null] {
        let err = refusal(body);
        assert_eq!((err.code, err.code.status(), err.param), (ErrorCode::InvalidJson, 400, None));
    }
}

#[test]
fn an_unknown_field_is_refused_by_name() {
    let err = refusal(flat(json!({"style_preset": "anime"})));
    assert_refused(&err, ErrorCode::UnknownParam, 400, "style_preset");
    assert_eq!(err.message, "unknown parameter style_preset");
}

#[test]
fn an_unknown_field_is_refused_even_when_null() {
    assert_refused(&refusal(flat(json!({"n": null}))), ErrorCode::UnknownParam, 400, "n");
}

#[test]
fn the_first_unknown_field_in_sorted_order_wins_over_every_other_error() {
    let err = refusal(json!({"zeta": 1, "alpha": 1, "prompt": 5, "model": 7}));
    assert_refused(&err, ErrorCode::UnknownParam, 400, "alpha");
}

#[test]
fn a_huge_unknown_key_is_echoed_cut_short() {
    let key = "k".repeat(10_000);
    let err = refusal(flat(json!({ key: 1 })));
    let shown = format!("{}…", "k".repeat(64));
    assert_refused(&err, ErrorCode::UnknownParam, 400, &shown);
    assert!(err.message.len() < 200, "{}", err.message);
}

#[test]
fn params_is_an_unknown_field_on_the_generations_endpoint() {
    let err = refusal_with(envelope(json!({})), &Catalog::shipped(), &generations());
    assert_refused(&err, ErrorCode::UnknownParam, 400, "params");
}

// ---- model ----

#[test]
fn a_missing_model_is_an_invalid_param() {
    let err = refusal(json!({"prompt": "rain"}));
    assert_refused(&err, ErrorCode::InvalidParam, 400, "model");
    assert_eq!(err.message, "model is required");
}

#[test]
fn a_null_model_is_a_missing_model() {
    assert_refused(&refusal(json!({"model": null, "prompt": "rain"})), ErrorCode::InvalidParam, 400, "model");
}

#[test]
fn a_model_that_is_not_a_string_is_an_invalid_param() {
    assert_refused(&refusal(json!({"model": ["veo3.1"], "prompt": "rain"})), ErrorCode::InvalidParam, 400, "model");
}

#[test]
fn an_unknown_model_is_model_not_found() {
    let err = refusal(json!({"model": "veo9", "prompt": "rain"}));
    assert_refused(&err, ErrorCode::ModelNotFound, 400, "model");
    assert_eq!(err.message, "model \"veo9\" does not exist; GET /v1/models lists the models");
}

#[test]
fn the_model_is_checked_before_the_prompt() {
    assert_refused(&refusal(json!({"model": "nope", "prompt": 5})), ErrorCode::ModelNotFound, 400, "model");
}

// ---- prompt ----

#[test]
fn a_missing_or_null_prompt_is_an_invalid_param() {
    for body in [json!({"model": "veo3.1"}), json!({"model": "veo3.1", "prompt": null})] {
        let err = refusal(body);
        assert_refused(&err, ErrorCode::InvalidParam, 400, "prompt");
        assert_eq!(err.message, "prompt is required");
    }
}

#[test]
fn a_prompt_that_is_not_a_string_is_an_invalid_param() {
    assert_refused(&refusal(flat(json!({"prompt": 12}))), ErrorCode::InvalidParam, 400, "prompt");
}

#[test]
fn a_blank_prompt_is_an_invalid_param() {
    assert_refused(&refusal(flat(json!({"prompt": " \n\t "}))), ErrorCode::InvalidParam, 400, "prompt");
    assert_refused(&refusal(flat(json!({"prompt": ""}))), ErrorCode::InvalidParam, 400, "prompt");
}

#[test]
fn a_prompt_over_the_models_limit_is_an_invalid_param() {
    let err = refusal(flat(json!({"prompt": "é".repeat(4001)})));
    assert_refused(&err, ErrorCode::InvalidParam, 400, "prompt");
    assert_eq!(err.message, "prompt is 4001 characters; model veo3.1 takes at most 4000");
}

#[test]
fn the_prompt_is_checked_before_the_other_fields() {
    assert_refused(
        &refusal(flat(json!({"prompt": "", "duration_seconds": 7}))),
        ErrorCode::InvalidParam,
        400,
        "prompt",
    );
}

// ---- duration_seconds ----

#[test]
fn a_duration_the_model_does_not_offer_is_an_unsupported_value() {
    let err = refusal(flat(json!({"duration_seconds": 8})));
    assert_refused(&err, ErrorCode::UnsupportedValue, 400, "duration_seconds");
    assert_eq!(err.message, "duration_seconds must be one of 5, 10 for model veo3.1");
    for whole in [json!(0), json!(4294967301u64), json!(1e20)] {
        let err = refusal(flat(json!({"duration_seconds": whole})));
        assert_refused(&err, ErrorCode::UnsupportedValue, 400, "duration_seconds");
    }
}

#[test]
fn a_fractional_negative_or_non_numeric_duration_is_an_invalid_param() {
    for bad in [json!(5.5), json!(-5), json!(-5.0), json!("5"), json!(true)] {
        let err = refusal(flat(json!({"duration_seconds": bad})));
        assert_refused(&err, ErrorCode::InvalidParam, 400, "duration_seconds");
    }
}

#[test]
fn the_duration_is_checked_before_the_size() {
    let err = refusal(flat(json!({"duration_seconds": 7, "size": "bad"})));
    assert_refused(&err, ErrorCode::UnsupportedValue, 400, "duration_seconds");
}

// ---- size, resolution, aspect_ratio ----

#[test]
fn a_malformed_size_is_an_invalid_param() {
    for bad in [json!("1280X720"), json!("1280*720"), json!(1280), json!("0x0")] {
        assert_refused(&refusal(flat(json!({"size": bad}))), ErrorCode::InvalidParam, 400, "size");
    }
}

#[test]
fn a_size_the_model_does_not_offer_is_an_unsupported_value() {
    let err = refusal(json!({"model": "veo3.1-fast", "prompt": "rain", "size": "1920x1080"}));
    assert_refused(&err, ErrorCode::UnsupportedValue, 400, "size");
    assert_eq!(err.message, "size 1920x1080 is not offered by model veo3.1-fast; it offers 1280x720, 720x1280");
}

#[test]
fn four_k_is_a_size_of_veo3_1_by_size_or_by_resolution_and_off_the_menu_of_veo3_1_fast() {
    assert_eq!(ok(flat(json!({"resolution": "4k"}))).size, Size::new(3840, 2160));
    assert_eq!(ok(flat(json!({"size": "2160x3840"}))).size, Size::new(2160, 3840));
    let err = refusal(json!({"model": "veo3.1-fast", "prompt": "rain", "resolution": "4k"}));
    assert_refused(&err, ErrorCode::UnsupportedValue, 400, "resolution");
    assert_eq!(
        err.message,
        "resolution makes the size 3840x2160, which model veo3.1-fast does not offer; it offers 1280x720, 720x1280"
    );
}

#[test]
fn a_resolution_other_than_720p_1080p_or_4k_is_an_invalid_param() {
    for bad in [json!("480p"), json!("720P"), json!("4K"), json!(720)] {
        assert_refused(&refusal(flat(json!({"resolution": bad}))), ErrorCode::InvalidParam, 400, "resolution");
    }
}

#[test]
fn an_aspect_ratio_other_than_16_9_or_9_16_is_an_invalid_param() {
    for bad in [json!("1:1"), json!("16/9"), json!(1.77)] {
        assert_refused(&refusal(flat(json!({"aspect_ratio": bad}))), ErrorCode::InvalidParam, 400, "aspect_ratio");
    }
}

#[test]
fn a_size_that_contradicts_resolution_and_aspect_ratio_is_an_invalid_param_on_size() {
    let err = refusal(flat(json!({"size": "1280x720", "resolution": "1080p", "aspect_ratio": "16:9"})));
    assert_refused(&err, ErrorCode::InvalidParam, 400, "size");
    assert_eq!(err.message, "size 1280x720 contradicts resolution and aspect_ratio (1920x1080)");
    let err = refusal(flat(json!({"size": "1280x720", "aspect_ratio": "9:16"})));
    assert_refused(&err, ErrorCode::InvalidParam, 400, "size");
    assert_eq!(err.message, "size 1280x720 contradicts aspect_ratio (720x1280)");
    let err = refusal(envelope(json!({"size": "720x1280", "resolution": "1080p"})));
    assert_refused(&err, ErrorCode::InvalidParam, 400, "params.size");
    assert_eq!(err.message, "params.size 720x1280 contradicts params.resolution (1920x1080)");
}

#[test]
fn a_resolution_that_makes_a_size_off_the_menu_is_an_unsupported_value_on_resolution() {
    let err = refusal(json!({"model": "veo3.1-fast", "prompt": "rain", "resolution": "1080p", "aspect_ratio": "16:9"}));
    assert_refused(&err, ErrorCode::UnsupportedValue, 400, "resolution");
    let err = refusal(json!({"model": "veo3.1-fast", "prompt": "rain", "resolution": "1080p"}));
    assert_refused(&err, ErrorCode::UnsupportedValue, 400, "resolution");
}

#[test]
fn a_lone_aspect_ratio_that_makes_a_size_off_the_menu_is_an_unsupported_value_on_aspect_ratio() {
    let err =
        refusal_with(json!({"model": "wide", "prompt": "rain", "aspect_ratio": "9:16"}), &tiny_catalog(), &submit());
    assert_refused(&err, ErrorCode::UnsupportedValue, 400, "aspect_ratio");
}

#[test]
fn half_a_pair_is_an_invalid_param_when_the_default_size_has_no_resolution() {
    let err = tiny(json!({"resolution": "720p"}));
    assert_refused(&err, ErrorCode::InvalidParam, 400, "resolution");
    assert_eq!(
        err.message,
        "resolution needs aspect_ratio too: the default size of model tiny (160x90) has no resolution or aspect ratio"
    );
    assert_refused(&tiny(json!({"aspect_ratio": "16:9"})), ErrorCode::InvalidParam, 400, "aspect_ratio");
    let both = json!({"model": "tiny", "prompt": "rain", "resolution": "720p", "aspect_ratio": "16:9"});
    assert_eq!(parse_submit(&both, &tiny_catalog(), &submit()).unwrap().size, Size::new(1280, 720));
}

// ---- audio ----

#[test]
fn audio_on_a_model_without_native_audio_is_an_unsupported_value() {
    let err = refusal(json!({"model": "veo3.1-fast", "prompt": "rain", "audio": true}));
    assert_refused(&err, ErrorCode::UnsupportedValue, 400, "audio");
}

#[test]
fn audio_that_is_not_a_boolean_is_an_invalid_param() {
    for bad in [json!("true"), json!(1)] {
        assert_refused(&refusal(flat(json!({"audio": bad}))), ErrorCode::InvalidParam, 400, "audio");
    }
}

// ---- source_image ----

#[test]
fn source_image_and_image_init_together_are_an_invalid_param_on_image_init() {
    let url = "https://img.example.com/a.png";
    let err = refusal(flat(json!({"source_image": url, "image_init": url})));
    assert_refused(&err, ErrorCode::InvalidParam, 400, "image_init");
}

#[test]
fn image_init_is_an_alias_of_source_image() {
    let url = "https://img.example.com/a.png";
    assert_eq!(ok(flat(json!({"image_init": url}))), ok(flat(json!({"source_image": url}))));
}

#[test]
fn a_source_image_that_is_not_a_string_is_an_invalid_param() {
    assert_refused(&refusal(flat(json!({"source_image": {"url": "x"}}))), ErrorCode::InvalidParam, 400, "source_image");
}

#[test]
fn a_source_image_url_that_is_not_https_is_an_invalid_param() {
    for bad in [
        "http://img.example.com/a.png",
        "ftp://img.example.com/a.png",
        "file:///etc/passwd",
        "img.example.com/a.png",
        "https://",
    ] {
        let err = refusal(flat(json!({"source_image": bad})));
        assert_refused(&err, ErrorCode::InvalidParam, 400, "source_image");
    }
}

#[test]
fn a_source_image_url_with_a_password_is_an_invalid_param() {
    for bad in ["https://user:pw@img.example.com/a.png", "https://user@img.example.com/a.png"] {
        assert_refused(&refusal(flat(json!({"image_init": bad}))), ErrorCode::InvalidParam, 400, "image_init");
    }
}

#[test]
fn a_data_uri_of_another_type_or_shape_is_an_invalid_param() {
    let b64 = base64::engine::general_purpose::STANDARD.encode(png());
    for bad in [
        format!("data:image/gif;base64,{b64}"),
        format!("data:text/plain;base64,{b64}"),
        format!("data:image/png,{b64}"),
        format!("data:image/png;charset=utf-8;base64,{b64}"),
        format!("data:image/png;base64{b64}"),
    ] {
        assert_refused(&refusal(flat(json!({"source_image": bad}))), ErrorCode::InvalidParam, 400, "source_image");
    }
}

#[test]
fn base64_that_does_not_decode_is_source_image_unreadable() {
    for bad in ["data:image/png;base64,!!!notbase64", "data:image/png;base64,iVBO R", "data:image/png;base64,A"] {
        let err = refusal(flat(json!({"source_image": bad})));
        assert_refused(&err, ErrorCode::SourceImageUnreadable, 422, "source_image");
    }
}

#[test]
fn an_image_over_the_byte_limit_is_source_image_unreadable() {
    let limits = SubmitLimits { max_image_bytes: 16, ..SubmitLimits::default() };
    let opts = ParseOptions { limits: &limits, ..submit() };
    let fits = flat(json!({"source_image": data_uri("image/png", &png())}));
    assert_eq!(png().len(), 24);
    let err = refusal_with(fits, &Catalog::shipped(), &opts);
    assert_refused(&err, ErrorCode::SourceImageUnreadable, 422, "source_image");
    assert_eq!(err.message, "source_image is 24 bytes; at most 16 bytes are accepted");
}

#[test]
fn the_default_image_limit_is_ten_mebibytes() {
    let limits = SubmitLimits::default();
    assert_eq!(
        (limits.max_image_bytes, limits.allow_http_source_urls, limits.allow_http_callback_urls),
        (10 * 1024 * 1024, false, false)
    );
    let over = [png(), vec![0; 10 * 1024 * 1024 + 1 - png().len()]].concat();
    let err = refusal(flat(json!({"source_image": data_uri("image/png", &over)})));
    assert_refused(&err, ErrorCode::SourceImageUnreadable, 422, "source_image");
    let at = &over[..10 * 1024 * 1024];
    assert!(parse(flat(json!({"source_image": data_uri("image/png", at)}))).is_ok());
}

#[test]
fn bytes_that_do_not_match_the_declared_type_are_source_image_unreadable() {
    for (mime, bytes) in [("image/jpeg", png()), ("image/png", b"GIF89a....".to_vec()), ("image/webp", vec![])] {
        let err = refusal(flat(json!({"image_init": data_uri(mime, &bytes)})));
        assert_refused(&err, ErrorCode::SourceImageUnreadable, 422, "image_init");
    }
}

#[test]
fn a_source_image_on_a_model_without_image_input_is_an_unsupported_value() {
    let err = tiny(json!({"source_image": "https://img.example.com/a.png"}));
    assert_refused(&err, ErrorCode::UnsupportedValue, 400, "source_image");
    assert_eq!(err.message, "model tiny does not take a source image");
    // The shape is checked first, the bytes only after the capability.
    assert_refused(&tiny(json!({"source_image": "ftp://x/a.png"})), ErrorCode::InvalidParam, 400, "source_image");
    let unreadable = json!({"image_init": "data:image/png;base64,!!!"});
    assert_refused(&tiny(unreadable), ErrorCode::UnsupportedValue, 400, "image_init");
}

// ---- seed ----

#[test]
fn a_seed_outside_0_to_u32_max_is_an_invalid_param() {
    for bad in [json!(4294967296u64), json!(-1), json!(1.5), json!("1"), json!(1e20)] {
        assert_refused(&refusal(flat(json!({"seed": bad}))), ErrorCode::InvalidParam, 400, "seed");
    }
}

// ---- negative_prompt ----

#[test]
fn a_negative_prompt_that_is_not_a_string_is_an_invalid_param() {
    assert_refused(
        &refusal(flat(json!({"negative_prompt": ["blur"]}))),
        ErrorCode::InvalidParam,
        400,
        "negative_prompt",
    );
}

#[test]
fn a_negative_prompt_over_the_models_limit_is_an_invalid_param() {
    let err = refusal(flat(json!({"negative_prompt": "x".repeat(4001)})));
    assert_refused(&err, ErrorCode::InvalidParam, 400, "negative_prompt");
}

// ---- out_task_id and Idempotency-Key ----

#[test]
fn an_out_task_id_outside_the_allowed_syntax_is_an_invalid_param() {
    for bad in [json!(""), json!("a".repeat(129)), json!("has space"), json!("slash/no"), json!("é"), json!(5)] {
        assert_refused(&refusal(flat(json!({"out_task_id": bad}))), ErrorCode::InvalidParam, 400, "out_task_id");
    }
}

#[test]
fn a_bad_idempotency_key_header_is_an_invalid_param_naming_the_header() {
    for bad in ["", "has space", "ключ"] {
        let err = refusal_with(flat(json!({})), &Catalog::shipped(), &with_header(bad));
        assert_refused(&err, ErrorCode::InvalidParam, 400, "Idempotency-Key");
    }
}

#[test]
fn a_header_and_body_key_that_differ_are_an_invalid_param_on_the_header() {
    let err = refusal_with(flat(json!({"out_task_id": "a"})), &Catalog::shipped(), &with_header("b"));
    assert_refused(&err, ErrorCode::InvalidParam, 400, "Idempotency-Key");
}

// ---- callback_url ----

#[test]
fn a_callback_url_that_is_not_https_is_an_invalid_param() {
    for bad in [json!("http://hooks.example.com/"), json!("ftp://hooks.example.com/"), json!("not a url"), json!(1)] {
        assert_refused(&refusal(flat(json!({"callback_url": bad}))), ErrorCode::InvalidParam, 400, "callback_url");
    }
}

#[test]
fn a_callback_url_with_a_password_is_an_invalid_param() {
    let err = refusal(flat(json!({"callback_url": "https://u:p@hooks.example.com/"})));
    assert_refused(&err, ErrorCode::InvalidParam, 400, "callback_url");
}

#[test]
fn a_callback_url_over_2048_characters_is_an_invalid_param() {
    let base = "https://hooks.example.com/";
    let at_limit = format!("{base}{}", "a".repeat(2048 - base.len()));
    assert!(parse(flat(json!({"callback_url": at_limit}))).is_ok());
    let over = format!("{at_limit}a");
    assert_refused(&refusal(flat(json!({"callback_url": over}))), ErrorCode::InvalidParam, 400, "callback_url");
}

// ---- metadata ----

#[test]
fn metadata_that_is_not_an_object_is_an_invalid_param() {
    for bad in [json!("k=v"), json!([["k", "v"]])] {
        assert_refused(&refusal(flat(json!({"metadata": bad}))), ErrorCode::InvalidParam, 400, "metadata");
    }
}

#[test]
fn more_than_sixteen_metadata_pairs_are_an_invalid_param() {
    let pairs: Map<String, Value> = (0..17).map(|i| (format!("k{i}"), json!("v"))).collect();
    assert_refused(&refusal(flat(json!({"metadata": pairs}))), ErrorCode::InvalidParam, 400, "metadata");
}

#[test]
fn a_metadata_key_that_is_empty_or_too_long_is_an_invalid_param_on_metadata() {
    for key in [String::new(), "k".repeat(65)] {
        let err = refusal(flat(json!({"metadata": {"a": 1, key: "v"}})));
        assert_refused(&err, ErrorCode::InvalidParam, 400, "metadata");
    }
}

#[test]
fn a_bad_metadata_value_is_an_invalid_param_on_its_key() {
    for bad in [json!(1), json!(null), json!({"x": "y"}), json!("v".repeat(513))] {
        let err = refusal(flat(json!({"metadata": {"ok": "fine", "user": bad}})));
        assert_refused(&err, ErrorCode::InvalidParam, 400, "metadata.user");
    }
}

// ---- stream ----

#[test]
fn stream_that_is_not_a_boolean_is_an_invalid_param() {
    assert_refused(&refusal(flat(json!({"stream": "yes"}))), ErrorCode::InvalidParam, 400, "stream");
}

// ---- the params envelope ----

#[test]
fn params_that_is_not_an_object_is_an_invalid_param() {
    for bad in [json!("prompt=rain"), json!([]), json!(1)] {
        let err = refusal(json!({"model": "veo3.1", "params": bad}));
        assert_refused(&err, ErrorCode::InvalidParam, 400, "params");
    }
}

#[test]
fn flat_fields_next_to_params_are_an_invalid_param_naming_the_flat_field() {
    let mut body = envelope(json!({}));
    merge(&mut body, json!({"seed": 1, "duration_seconds": 5}));
    let err = refusal(body);
    assert_refused(&err, ErrorCode::InvalidParam, 400, "duration_seconds");
    assert_eq!(
        err.message,
        "duration_seconds cannot be sent next to params: put it inside params, or send every field flat"
    );
}

#[test]
fn an_unknown_key_inside_params_is_refused_with_its_prefix() {
    let err = refusal(envelope(json!({"n": 2})));
    assert_refused(&err, ErrorCode::UnknownParam, 400, "params.n");
}

#[test]
fn task_fields_inside_params_are_unknown_and_the_message_says_where_they_go() {
    let err = refusal(envelope(json!({"out_task_id": "k"})));
    assert_refused(&err, ErrorCode::UnknownParam, 400, "params.out_task_id");
    assert_eq!(err.message, "unknown parameter params.out_task_id; it belongs at the top level, next to params");
}

#[test]
fn model_both_at_the_top_and_inside_params_is_an_invalid_param_on_params_model() {
    let err = refusal(envelope(json!({"model": "veo3.1"})));
    assert_refused(&err, ErrorCode::InvalidParam, 400, "params.model");
}

#[test]
fn errors_inside_params_name_the_field_with_its_prefix() {
    let cases = [
        (json!({"prompt": ""}), ErrorCode::InvalidParam, "params.prompt"),
        (json!({"prompt": null}), ErrorCode::InvalidParam, "params.prompt"),
        (json!({"duration_seconds": 7}), ErrorCode::UnsupportedValue, "params.duration_seconds"),
        (json!({"duration_seconds": 5.5}), ErrorCode::InvalidParam, "params.duration_seconds"),
        (json!({"size": "big"}), ErrorCode::InvalidParam, "params.size"),
        (json!({"resolution": "8k"}), ErrorCode::InvalidParam, "params.resolution"),
        (json!({"aspect_ratio": "1:1"}), ErrorCode::InvalidParam, "params.aspect_ratio"),
        (json!({"audio": "on"}), ErrorCode::InvalidParam, "params.audio"),
        (json!({"source_image": "http://x/a.png"}), ErrorCode::InvalidParam, "params.source_image"),
        (json!({"image_init": "data:image/png;base64,!"}), ErrorCode::SourceImageUnreadable, "params.image_init"),
        (json!({"seed": -1}), ErrorCode::InvalidParam, "params.seed"),
        (json!({"negative_prompt": 1}), ErrorCode::InvalidParam, "params.negative_prompt"),
    ];
    for (extra, code, param) in cases {
        assert_refused(&refusal(envelope(extra)), code, code.status(), param);
    }
    let err = refusal(json!({"params": {"prompt": "rain", "model": "veo9"}}));
    assert_refused(&err, ErrorCode::ModelNotFound, 400, "params.model");
    // Missing in the envelope form, where it may be at either level: named as inside params.
    let err = refusal(json!({"params": {"prompt": "rain"}}));
    assert_refused(&err, ErrorCode::InvalidParam, 400, "params.model");
    let err = refusal(json!({"model": "veo3.1-fast", "params": {"prompt": "rain", "audio": true}}));
    assert_refused(&err, ErrorCode::UnsupportedValue, 400, "params.audio");
}

#[test]
fn the_pair_message_inside_params_names_the_prefixed_fields() {
    let body = json!({"model": "tiny", "params": {"prompt": "rain", "aspect_ratio": "16:9"}});
    let err = refusal_with(body, &tiny_catalog(), &submit());
    assert_refused(&err, ErrorCode::InvalidParam, 400, "params.aspect_ratio");
    assert!(err.message.starts_with("params.aspect_ratio needs params.resolution too"), "{}", err.message);
}

// ---- the shared table ----

#[test]
fn every_case_of_the_shared_validation_table_is_refused_as_listed() {
    let cases = super::super::parse_cases::validation_cases();
    assert!(cases.len() >= 40, "{}", cases.len());
    for (body, code, param) in cases {
        let err = refusal(body.clone());
        assert_eq!((err.code, err.param.as_deref()), (code, Some(param)), "{body}");
    }
}

// ---- last_frame, reference_images ----

#[test]
fn a_last_frame_and_reference_images_are_carried_with_their_roles() {
    let first = "https://img.example.com/first.png";
    let req = ok(flat(json!({"source_image": first, "last_frame": data_uri("image/png", &png())})));
    let inline = SourceImageInput::Inline { mime: ImageMime::Png, bytes: png() };
    assert_eq!(req.guides.last_frame, Some(inline.clone()));
    let refs =
        json!(["https://img.example.com/a.png", {"image": data_uri("image/png", &png()), "reference_type": "style"}]);
    let req = ok(envelope(json!({"reference_images": refs})));
    let url = SourceImageInput::Url(Url::parse("https://img.example.com/a.png").unwrap());
    assert_eq!(req.guides.reference_images, [(GuideRole::Asset, url), (GuideRole::Style, inline)]);
}

#[test]
fn a_last_frame_without_a_first_frame_is_an_invalid_param() {
    let err = refusal(flat(json!({"last_frame": "https://img.example.com/last.png"})));
    assert_refused(&err, ErrorCode::InvalidParam, 400, "last_frame");
    assert_eq!(
        err.message,
        "last_frame needs a first frame (source_image): a last frame ends an interpolation from it"
    );
}

#[test]
fn four_reference_images_or_a_bad_reference_type_are_an_invalid_param_naming_the_item() {
    let four = json!([
        "https://a.example/1.png",
        "https://a.example/2.png",
        "https://a.example/3.png",
        "https://a.example/4.png"
    ]);
    let err = refusal(flat(json!({"reference_images": four})));
    assert_refused(&err, ErrorCode::InvalidParam, 400, "reference_images");
    assert_eq!(err.message, "reference_images has 4 images; at most 3 are accepted");
    let bad = json!([{"image": "https://a.example/1.png", "reference_type": "mood"}]);
    assert_refused(
        &refusal(envelope(json!({"reference_images": bad}))),
        ErrorCode::InvalidParam,
        400,
        "params.reference_images[0].reference_type",
    );
    let unknown = json!([{"image": "https://a.example/1.png", "weight": 1}]);
    assert_refused(
        &refusal(flat(json!({"reference_images": unknown}))),
        ErrorCode::UnknownParam,
        400,
        "reference_images[0].weight",
    );
    let empty = refusal(flat(json!({"reference_images": []})));
    assert_refused(&empty, ErrorCode::InvalidParam, 400, "reference_images");
    let garbage = refusal(flat(json!({"reference_images": ["data:image/png;base64,!!"]})));
    assert_refused(&garbage, ErrorCode::SourceImageUnreadable, 422, "reference_images[0]");
}

#[test]
fn a_model_without_guide_images_refuses_them_as_an_unsupported_value() {
    let body = json!({"model": "sora2", "prompt": "rain", "source_image": "https://a.example/1.png",
        "last_frame": "https://a.example/2.png"});
    let err = refusal(body);
    assert_refused(&err, ErrorCode::UnsupportedValue, 400, "last_frame");
    assert_eq!(err.message, "model sora2 does not take a last frame");
    let err = refusal(json!({"model": "sora2", "prompt": "rain", "reference_images": ["https://a.example/1.png"]}));
    assert_refused(&err, ErrorCode::UnsupportedValue, 400, "reference_images[0]");
    assert_eq!(err.message, "model sora2 does not take reference images");
}
