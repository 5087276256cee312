//! The TOML examples of docs/configuration.md, read from the page itself: each loads as a
//! config and, with its upstreams, plans every catalog combination at a zero or positive
//! margin with none refused, so an operator who starts from them starts clean.

use vidgate_domain::config::Config;
use vidgate_domain::plan::{Refusal, ReportSummary, report};

const PAGE: &str = include_str!("../../../docs/configuration.md");

/// The bodies of the page's ```toml fences, in order.
fn toml_blocks(page: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in page.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```toml") => current = Some(String::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(body), _) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "an unclosed ```toml fence");
    blocks
}

/// Loads a block with every `credentials_env` it names set, as an operator would.
fn load(block: &str) -> Config {
    let table: toml::Table = toml::from_str(block).unwrap_or_else(|e| panic!("{e}\n{block}"));
    let upstreams = table.get("upstreams").and_then(|u| u.as_array()).cloned().unwrap_or_default();
    let members = upstreams.iter().filter_map(|u| u.get("pool")?.as_array()).flatten();
    let env = upstreams
        .iter()
        .chain(members)
        .filter_map(|u| u.get("credentials_env")?.as_str())
        .map(|name| (name.to_owned(), "example-secret".to_owned()))
        .collect::<Vec<_>>();
    Config::load(block, env).unwrap_or_else(|e| panic!("{e}\n{block}"))
}

#[test]
fn the_page_has_toml_examples_and_one_routes_veo_through_two_upstreams() {
    let blocks = toml_blocks(PAGE);
    assert!(blocks.len() >= 2, "{blocks:?}");
    let routed = blocks.iter().map(|b| load(b)).find(|c| c.upstreams.len() >= 2).expect("an upstream example");
    let veo = routed.catalog().unwrap().resolve("veo3.1").unwrap().clone();
    assert_eq!(veo.routes, ["vertex-us", "gemini"]);
}

#[test]
fn every_example_on_the_page_starts_with_no_negative_margin_and_no_refusal() {
    let mut planned = 0;
    for block in toml_blocks(PAGE) {
        let config = load(&block);
        let lines = report(&config.catalog().unwrap(), &config.channels().unwrap());
        for line in &lines {
            assert!(!line.negative_margin(), "a loss in the example:\n{line}\n{block}");
            assert!(
                matches!(line.outcome, Ok(_) | Err(Refusal::NoRoute)),
                "a refusal in the example:\n{line}\n{block}"
            );
        }
        let summary = ReportSummary::of(&lines);
        assert!(summary.is_clean(), "{summary}");
        planned += summary.plans;
    }
    assert!(planned >= 24, "the examples plan veo3.1 (3 lengths × 6 sizes × audio or not) and more: {planned}");
}

#[test]
fn the_pool_example_routes_seedance_through_each_key_of_the_pool() {
    let pooled = toml_blocks(PAGE).iter().map(|b| load(b)).find(|c| c.upstreams.iter().any(|u| u.pool.is_some()));
    let config = pooled.expect("a pool example");
    let seedance = config.catalog().unwrap().resolve("seedance2").unwrap().clone();
    assert_eq!(seedance.routes, ["ark:main", "ark:team-b"]);
    let weights: Vec<u32> = config.channels().unwrap().iter().map(|c| c.weight).collect();
    assert_eq!(weights, [3, 1]);
}
