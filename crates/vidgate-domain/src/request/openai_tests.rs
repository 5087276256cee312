//! Tests of [`super::parse_create`] and [`super::parse_remix`]: one test per rule, with the
//! exact code, status and `param`, and the exact typed requests that must come out.

use serde_json::{Value, json};

use super::*;

static LIMITS: SubmitLimits =
    SubmitLimits { max_image_bytes: 64, allow_http_source_urls: false, allow_http_callback_urls: false };

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n-not-decoded-here";

fn opts() -> OpenAiOptions<'static> {
    OpenAiOptions { idempotency_header: None, limits: &LIMITS }
}

/// The shipped catalog plus `still`, a model without image input or audio.
fn catalog() -> Catalog {
    let mut models = Catalog::shipped().models().to_vec();
    let mut still = models.iter().find(|m| m.id == "sora2").unwrap().clone();
    (still.id, still.aliases, still.image_to_video, still.native_audio) = ("still".into(), vec![], false, false);
    models.push(still);
    Catalog::new(models).unwrap()
}

fn json_create(body: Value) -> Result<SubmitRequest, RequestError> {
    parse_create(&OpenAiFields::from_json(body).unwrap(), &catalog(), &opts())
}

fn form_create(parts: &[(&str, Option<&str>, &[u8])]) -> Result<SubmitRequest, RequestError> {
    parse_create(&OpenAiFields::from_form(form(parts)).unwrap(), &catalog(), &opts())
}

fn form(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<FormPart> {
    parts
        .iter()
        .map(|(name, ct, bytes)| FormPart {
            name: (*name).into(),
            content_type: ct.map(str::to_owned),
            bytes: bytes.to_vec(),
        })
        .collect()
}

#[track_caller]
fn assert_refused(result: Result<SubmitRequest, RequestError>, code: ErrorCode, status: u16, param: &str) {
    match result {
        Ok(req) => panic!("expected a refusal, got {req:?}"),
        Err(e) => assert_eq!((e.code, e.code.status(), e.param.as_deref()), (code, status, Some(param)), "{e}"),
    }
}

fn sora2(prompt: &str) -> SubmitRequest {
    SubmitRequest {
        model: "sora2".into(),
        prompt: prompt.into(),
        duration_seconds: 5,
        size: Size::new(1280, 720),
        audio: true,
        source_image: None,
        seed: None,
        negative_prompt: None,
        guides: Default::default(),
        out_task_id: None,
        callback_url: None,
        metadata: BTreeMap::new(),
    }
}

#[test]
fn a_json_create_with_only_a_prompt_is_sora2_at_its_defaults_with_audio() {
    assert_eq!(json_create(json!({"prompt": "waves"})).unwrap(), sora2("waves"));
}

#[test]
fn a_multipart_create_maps_every_field_onto_the_catalog() {
    let req = form_create(&[
        ("prompt", None, b"waves"),
        ("model", None, b"sora-2"),
        ("seconds", None, b"8"),
        ("size", Some("text/plain"), b"720x1280"),
    ])
    .unwrap();
    assert_eq!(req, SubmitRequest { duration_seconds: 8, size: Size::new(720, 1280), ..sora2("waves") });
}

#[test]
fn null_fields_are_the_same_as_omitted_ones() {
    let req = json_create(json!({"prompt": "waves", "model": null, "seconds": null, "size": null})).unwrap();
    assert_eq!(req, sora2("waves"));
}

#[test]
fn seconds_may_be_a_json_whole_number() {
    assert_eq!(json_create(json!({"prompt": "p", "seconds": 12})).unwrap().duration_seconds, 12);
    assert_eq!(json_create(json!({"prompt": "p", "seconds": 4.0})).unwrap().duration_seconds, 4);
}

#[test]
fn seconds_the_model_does_not_offer_are_unsupported_naming_seconds() {
    for bad in [json!("3"), json!("0"), json!("16"), json!(7), json!("99999999999")] {
        let err = json_create(json!({"prompt": "p", "seconds": bad}));
        assert_refused(err, ErrorCode::UnsupportedValue, 400, "seconds");
    }
    let err = json_create(json!({"prompt": "p", "seconds": "3"})).unwrap_err();
    assert_eq!(err.message, "seconds must be one of \"4\", \"5\", \"8\", \"10\", \"12\", \"15\" for model sora2");
}

#[test]
fn seconds_that_are_not_a_whole_number_are_invalid() {
    for bad in [json!("four"), json!("4.5"), json!("-4"), json!(""), json!(" 4"), json!(4.5), json!(-4), json!(true)] {
        assert_refused(json_create(json!({"prompt": "p", "seconds": bad})), ErrorCode::InvalidParam, 400, "seconds");
    }
}

#[test]
fn a_size_off_the_menu_is_unsupported_and_a_malformed_one_invalid() {
    let off = json_create(json!({"prompt": "p", "model": "veo3.1-fast", "size": "1920x1080"}));
    assert_refused(off, ErrorCode::UnsupportedValue, 400, "size");
    assert_refused(json_create(json!({"prompt": "p", "size": "1024x1792"})), ErrorCode::UnsupportedValue, 400, "size");
    assert_refused(json_create(json!({"prompt": "p", "size": "big"})), ErrorCode::InvalidParam, 400, "size");
    assert_refused(json_create(json!({"prompt": "p", "size": 720})), ErrorCode::InvalidParam, 400, "size");
}

#[test]
fn an_unknown_model_is_model_not_found_and_a_non_string_invalid() {
    assert_refused(json_create(json!({"prompt": "p", "model": "sora-9"})), ErrorCode::ModelNotFound, 400, "model");
    assert_refused(json_create(json!({"prompt": "p", "model": 2})), ErrorCode::InvalidParam, 400, "model");
}

#[test]
fn an_omitted_model_without_sora2_in_the_catalog_is_model_not_found() {
    let tiny = Catalog::new(vec![catalog().resolve("still").unwrap().clone()]).unwrap();
    let err = parse_create(&OpenAiFields::from_json(json!({"prompt": "p"})).unwrap(), &tiny, &opts());
    assert_refused(err, ErrorCode::ModelNotFound, 400, "model");
}

#[test]
fn the_prompt_is_required_non_empty_and_within_the_models_limit() {
    assert_refused(json_create(json!({})), ErrorCode::InvalidParam, 400, "prompt");
    assert_refused(json_create(json!({"prompt": "  "})), ErrorCode::InvalidParam, 400, "prompt");
    assert_refused(json_create(json!({"prompt": 1})), ErrorCode::InvalidParam, 400, "prompt");
    let long = "a".repeat(32_001);
    assert_refused(json_create(json!({"prompt": long})), ErrorCode::InvalidParam, 400, "prompt");
    assert_eq!(json_create(json!({"prompt": "a".repeat(32_000)})).unwrap().prompt.len(), 32_000);
}

#[test]
fn unknown_fields_are_refused_first_in_byte_order() {
    let err = json_create(json!({"zz": 1, "aa": 1, "model": "nope"}));
    assert_refused(err, ErrorCode::UnknownParam, 400, "aa");
    assert_refused(json_create(json!({"prompt": "p", "audio": true})), ErrorCode::UnknownParam, 400, "audio");
    assert_refused(form_create(&[("prompt", None, b"p"), ("n", None, b"1")]), ErrorCode::UnknownParam, 400, "n");
}

#[test]
fn the_model_is_checked_before_the_prompt() {
    assert_refused(json_create(json!({"model": "nope"})), ErrorCode::ModelNotFound, 400, "model");
}

#[test]
fn an_uploaded_png_becomes_an_inline_source_image_whatever_generic_type_it_carries() {
    for ct in [Some("image/png"), Some("application/octet-stream"), None] {
        let req = form_create(&[("prompt", None, b"p"), ("input_reference", ct, PNG)]).unwrap();
        assert_eq!(req.source_image, Some(SourceImageInput::Inline { mime: ImageMime::Png, bytes: PNG.to_vec() }));
    }
}

#[test]
fn an_upload_that_is_not_the_declared_image_or_no_image_is_unreadable() {
    let cases: [(Option<&str>, &[u8]); 4] =
        [(Some("image/jpeg"), PNG), (Some("image/gif"), PNG), (None, b"plain text"), (Some("image/png"), &[0; 65])];
    for (ct, bytes) in cases {
        let err = form_create(&[("prompt", None, b"p"), ("input_reference", ct, bytes)]);
        assert_refused(err, ErrorCode::SourceImageUnreadable, 422, "input_reference");
    }
}

#[test]
fn an_upload_for_a_model_without_image_input_is_unsupported() {
    let err = form_create(&[("prompt", None, b"p"), ("model", None, b"still"), ("input_reference", None, PNG)]);
    assert_refused(err, ErrorCode::UnsupportedValue, 400, "input_reference");
}

#[test]
fn a_json_image_url_takes_a_data_uri_or_an_https_url() {
    let data = "data:image/png;base64,iVBORw0KGgo=";
    let req = json_create(json!({"prompt": "p", "input_reference": {"image_url": data}})).unwrap();
    let png = b"\x89PNG\r\n\x1a\n".to_vec();
    assert_eq!(req.source_image, Some(SourceImageInput::Inline { mime: ImageMime::Png, bytes: png }));
    let url = "https://img.example.com/a.png";
    let req = json_create(json!({"prompt": "p", "input_reference": {"image_url": url}})).unwrap();
    assert_eq!(req.source_image, Some(SourceImageInput::Url(url.parse().unwrap())));
}

#[test]
fn a_bad_json_input_reference_names_input_reference() {
    let bad = |r: Value| json_create(json!({"prompt": "p", "input_reference": r}));
    let invalid = [
        json!("https://img.example.com/a.png"),
        json!({"image_url": "http://img.example.com/a.png"}),
        json!({"image_url": 1}),
        json!({"file_id": "file-1"}),
        json!({"image_url": "https://a.example.com/a.png", "file_id": "file-1"}),
        json!({}),
    ];
    for r in invalid {
        assert_refused(bad(r), ErrorCode::InvalidParam, 400, "input_reference");
    }
    let err = bad(json!({"image_url": "data:image/png;base64,!!!"}));
    assert_refused(err, ErrorCode::SourceImageUnreadable, 422, "input_reference");
    assert_refused(bad(json!({"url": "x"})), ErrorCode::UnknownParam, 400, "input_reference.url");
    let err = json_create(
        json!({"prompt": "p", "model": "still", "input_reference": {"image_url": "https://a.example.com/"}}),
    );
    assert_refused(err, ErrorCode::UnsupportedValue, 400, "input_reference");
}

#[test]
fn a_multipart_field_sent_twice_or_not_text_is_invalid() {
    let twice = OpenAiFields::from_form(form(&[("prompt", None, b"a"), ("prompt", None, b"b")])).unwrap_err();
    assert_eq!((twice.code, twice.param.as_deref()), (ErrorCode::InvalidParam, Some("prompt")));
    let two_files = form(&[("input_reference", None, PNG), ("input_reference", None, PNG)]);
    let err = OpenAiFields::from_form(two_files).unwrap_err();
    assert_eq!((err.code, err.param.as_deref()), (ErrorCode::InvalidParam, Some("input_reference")));
    let binary = OpenAiFields::from_form(form(&[("size", None, &[0xff, 0xfe])])).unwrap_err();
    assert_eq!((binary.code, binary.param.as_deref()), (ErrorCode::InvalidParam, Some("size")));
}

#[test]
fn a_json_body_that_is_not_an_object_is_invalid_json() {
    let err = OpenAiFields::from_json(json!(["prompt"])).unwrap_err();
    assert_eq!((err.code, err.code.status(), err.param), (ErrorCode::InvalidJson, 400, None));
}

#[test]
fn the_idempotency_key_header_becomes_the_out_task_id_under_the_same_rule() {
    let fields = OpenAiFields::from_json(json!({"prompt": "p"})).unwrap();
    let with = |h: &'static str| OpenAiOptions { idempotency_header: Some(h), limits: &LIMITS };
    assert_eq!(parse_create(&fields, &catalog(), &with("job-1")).unwrap().out_task_id.as_deref(), Some("job-1"));
    let err = parse_create(&fields, &catalog(), &with("has space"));
    assert_refused(err, ErrorCode::InvalidParam, 400, "Idempotency-Key");
}

fn original() -> SubmitRequest {
    SubmitRequest {
        seed: Some(7),
        negative_prompt: Some("blur".into()),
        guides: Default::default(),
        metadata: BTreeMap::from([("k".to_owned(), "v".to_owned())]),
        source_image: Some(SourceImageInput::Inline { mime: ImageMime::Png, bytes: PNG.to_vec() }),
        duration_seconds: 8,
        out_task_id: Some("old-key".into()),
        ..sora2("waves")
    }
}

fn remix(body: Value, original: SubmitRequest, catalog: &Catalog) -> Result<SubmitRequest, RequestError> {
    parse_remix(&OpenAiFields::from_json(body).unwrap(), original, catalog, &opts())
}

#[test]
fn a_remix_keeps_everything_but_the_prompt_and_the_idempotency_key() {
    let req = remix(json!({"prompt": "waves at night"}), original(), &catalog()).unwrap();
    assert_eq!(req, SubmitRequest { prompt: "waves at night".into(), out_task_id: None, ..original() });
}

#[test]
fn a_remix_takes_only_a_valid_prompt() {
    assert_refused(remix(json!({}), original(), &catalog()), ErrorCode::InvalidParam, 400, "prompt");
    assert_refused(remix(json!({"prompt": ""}), original(), &catalog()), ErrorCode::InvalidParam, 400, "prompt");
    let err = remix(json!({"prompt": "p", "seconds": "4"}), original(), &catalog());
    assert_refused(err, ErrorCode::UnknownParam, 400, "seconds");
    let upload = OpenAiFields::from_form(form(&[("prompt", None, b"p"), ("input_reference", None, PNG)])).unwrap();
    let err = parse_remix(&upload, original(), &catalog(), &opts());
    assert_refused(err, ErrorCode::UnknownParam, 400, "input_reference");
}

#[test]
fn a_remix_of_something_the_catalog_no_longer_offers_is_refused() {
    let mut shrunk = catalog().models().to_vec();
    shrunk.iter_mut().find(|m| m.id == "sora2").unwrap().durations = vec![4, 5];
    let err = remix(json!({"prompt": "p"}), original(), &Catalog::new(shrunk).unwrap()).unwrap_err();
    assert_eq!((err.code, err.param), (ErrorCode::UnsupportedValue, None));
    let gone = Catalog::new(vec![catalog().resolve("still").unwrap().clone()]).unwrap();
    let err = remix(json!({"prompt": "p"}), original(), &gone).unwrap_err();
    assert_eq!((err.code, err.param), (ErrorCode::ModelNotFound, None));
}

#[test]
fn vidgate_extra_fields_are_taken_as_json_values_or_as_multipart_text() {
    let refs =
        json!(["https://img.example.com/a.png", {"image": "https://img.example.com/b.png", "reference_type": "asset"}]);
    let req = json_create(json!({"model": "veo3.1", "prompt": "kites", "seconds": "5", "reference_images": refs,
        "negative_prompt": "fog"}))
    .unwrap();
    assert_eq!((req.guides.reference_images.len(), req.negative_prompt.as_deref()), (2, Some("fog")));
    let text = refs.to_string();
    let req = form_create(&[
        ("model", None, b"veo3.1"),
        ("prompt", None, b"kites"),
        ("reference_images", None, text.as_bytes()),
        ("negative_prompt", None, b"fog"),
    ])
    .unwrap();
    assert_eq!(req.guides.reference_images.len(), 2);
    assert_refused(
        json_create(json!({"model": "veo3.1", "prompt": "x", "last_frame": "https://img.example.com/z.png"})),
        ErrorCode::InvalidParam,
        400,
        "last_frame",
    );
    assert_refused(
        json_create(json!({"model": "sora2", "prompt": "x", "reference_images": ["https://img.example.com/a.png"]})),
        ErrorCode::UnsupportedValue,
        400,
        "reference_images[0]",
    );
}
