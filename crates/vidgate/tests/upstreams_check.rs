//! `vidgate upstreams check` as an operator runs it: the real binary, a config naming the
//! fake upstreams, a table or JSON of what each upstream said about its credentials and model
//! id, and exit status 1 when anything was refused. Nothing is generated.

use std::process::{Command, Output};

use serde_json::Value;
use vidgate_fakes::{
    FakeComfyui, FakeDashscope, FakeGemini, FakeKling, FakeMinimax, FakeModelark, FakeOpenAi, FakeVertex, FakeVidgate,
};

/// A TOML string literal (JSON's escapes are TOML's).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// One `[[upstreams]]` table.
fn entry(fields: &[(&str, &str)]) -> String {
    let mut out = String::from("[[upstreams]]\n");
    for (k, v) in fields {
        out.push_str(&format!("{k} = {}\n", quoted(v)));
    }
    out
}

async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_vidgate")).args(&args).env_remove("VIDGATE_LOG").output().unwrap()
    })
    .await
    .unwrap()
}

fn verdict(rows: &Value, name: &str, what: &str) -> String {
    let row = rows.as_array().unwrap().iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("{name}: {rows}"));
    row[what]["verdict"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_a_bad_key_an_unknown_model_and_good_routes_without_generating_anything() {
    let gemini = FakeGemini::start().await;
    let openai = FakeOpenAi::start().await;
    let vidgate = FakeVidgate::start().await;
    let vertex = FakeVertex::start().await;
    let ark = FakeModelark::start().await;
    let wan = FakeDashscope::start().await;
    let minimax = FakeMinimax::start().await;
    let kling = FakeKling::start().await;
    let comfyui = FakeComfyui::start().await;
    let ark_base = ark.api_base();
    let wan_base = wan.api_base();
    let openai_base = openai.api_base();
    let vertex_key = vertex.key_file_json();
    let kling_credentials = kling.access_credentials();
    let config = [
        entry(&[
            ("name", "gemini-good"),
            ("kind", "gemini"),
            ("model", "veo-3.1-generate-preview"),
            ("base_url", gemini.base_url()),
            ("credentials", gemini.api_key()),
        ]),
        entry(&[
            ("name", "gemini-bad-key"),
            ("kind", "gemini"),
            ("model", "veo-3.1-generate-preview"),
            ("base_url", gemini.base_url()),
            ("credentials", "not-the-key"),
        ]),
        entry(&[
            ("name", "gemini-no-model"),
            ("kind", "gemini"),
            ("model", "veo-9-generate-preview"),
            ("base_url", gemini.base_url()),
            ("credentials", gemini.api_key()),
        ]),
        entry(&[
            ("name", "openai-good"),
            ("kind", "openai"),
            ("model", "sora-2"),
            ("base_url", &openai_base),
            ("credentials", openai.api_key()),
        ]),
        entry(&[
            ("name", "openai-no-model"),
            ("kind", "openai"),
            ("model", "sora-9"),
            ("base_url", &openai_base),
            ("credentials", openai.api_key()),
        ]),
        entry(&[
            ("name", "chained"),
            ("kind", "vidgate"),
            ("model", "veo3.1"),
            ("base_url", vidgate.base_url()),
            ("credentials", vidgate.api_key()),
        ]),
        entry(&[
            ("name", "vertex"),
            ("kind", "vertex"),
            ("model", "veo-3.1-generate-001"),
            ("base_url", vertex.base_url()),
            ("token_url", vertex.token_url()),
            ("credentials", &vertex_key),
        ]),
        entry(&[
            ("name", "ark"),
            ("kind", "modelark"),
            ("flavor", "byteplus"),
            ("model", "dreamina-seedance-2-0-260128"),
            ("base_url", &ark_base),
            ("credentials", ark.api_key()),
        ]),
        entry(&[
            ("name", "wan-bad-key"),
            ("kind", "dashscope"),
            ("model", "wan2.6-t2v"),
            ("base_url", &wan_base),
            ("credentials", "sk-wrong"),
        ]),
        entry(&[
            ("name", "minimax-bad-key"),
            ("kind", "minimax"),
            ("model", "MiniMax-H3"),
            ("base_url", minimax.base_url()),
            ("credentials", "sk-wrong"),
        ]),
        entry(&[
            ("name", "kling"),
            ("kind", "kling"),
            ("model", "kling-v2-6"),
            ("base_url", kling.base_url()),
            ("credentials", &kling_credentials),
        ]),
        format!(
            "[[upstreams]]\nname = \"gpu\"\nkind = \"comfyui\"\n[upstreams.comfyui]\nservers = [{}]\n\
             workflow = \"wan22-t2v\"\nfps = 16\nframe_step = 4\nsize_step = 16\n",
            quoted(comfyui.base_url())
        ),
    ]
    .concat();
    let dir = std::env::temp_dir().join(format!("vidgate-check-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("vidgate.toml");
    std::fs::write(&file, config).unwrap();
    let path = file.display().to_string();

    let out = run(vec!["--json".into(), "upstreams".into(), "check".into(), "--config".into(), path.clone()]).await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "refused by the upstream: gemini-bad-key, gemini-no-model, openai-no-model, wan-bad-key, minimax-bad-key"
        ),
        "{stderr}"
    );
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected = [
        ("gemini-good", "ok", "ok"),
        ("gemini-bad-key", "BAD", "unknown"),
        ("gemini-no-model", "ok", "BAD"),
        ("openai-good", "ok", "ok"),
        ("openai-no-model", "ok", "BAD"),
        ("chained", "ok", "ok"),
        ("vertex", "ok", "not checked"),
        ("ark", "ok", "not checked"),
        ("wan-bad-key", "BAD", "not checked"),
        ("minimax-bad-key", "BAD", "not checked"),
        ("kling", "ok", "not checked"),
        ("gpu", "ok", "ok"),
    ];
    for (name, credentials, model) in expected {
        assert_eq!(
            (verdict(&rows, name, "credentials"), verdict(&rows, name, "model_id")),
            (credentials.to_owned(), model.to_owned()),
            "{name}: {rows}"
        );
    }
    assert!(
        !rows.to_string().contains("not-the-key") && !rows.to_string().contains("sk-wrong"),
        "no credential is printed: {rows}"
    );
    // Nothing was generated anywhere.
    let created = [
        gemini.journal(),
        openai.journal(),
        ark.journal(),
        minimax.journal(),
        kling.journal(),
        wan.journal(),
        vidgate.journal(),
    ]
    .map(|j| j.counters().jobs_created);
    assert_eq!(created, [0; 7]);

    let table = run(vec!["upstreams".into(), "check".into(), "--config".into(), path]).await;
    let text = String::from_utf8_lossy(&table.stdout).into_owned();
    assert!(text.lines().next().unwrap().starts_with("UPSTREAM"), "{text}");
    let bad_key = text.lines().find(|l| l.starts_with("gemini-bad-key")).unwrap();
    assert!(bad_key.contains("BAD") && bad_key.contains("API key not valid"), "{text}");
    assert_eq!(table.status.code(), Some(1));
}
