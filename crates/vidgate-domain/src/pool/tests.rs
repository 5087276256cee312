use crate::config::Config;
use crate::money::Usd;

const ENTRY: &str = "[[upstreams]]\nname = \"ark\"\nkind = \"modelark\"\nmodel = \"seedance-1-5-pro-251215\"\n\
                     priority = 3\nweight = 2\nmax_in_flight = 7\nrequests_per_second = 4\n\
                     daily_budget_usd = \"50\"\nserves = [\"seedance1.5-pro\"]\n";

fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, String> {
    Config::load(text, env.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

fn member(label: &str, extra: &str) -> String {
    format!("[[upstreams.pool]]\nlabel = \"{label}\"\n{extra}")
}

#[test]
fn each_member_is_a_channel_with_the_entrys_values_and_its_own_overrides() {
    let text = format!(
        "{ENTRY}{}{}",
        member("main", "credentials = \"key-main-123\"\n"),
        member(
            "spare",
            "credentials_env = \"ARK_SPARE\"\nweight = 5\nmax_in_flight = 2\nrequests_per_second = 0.5\n\
             daily_budget_usd = \"1.25\"\nmonthly_budget_usd = \"30\"\nbase_url = \"http://spare.example/api/v3\"\n"
        ),
    );
    let config = load(&text, &[("ARK_SPARE", "key-spare-456")]).unwrap();
    let channels = config.channels().unwrap();
    let names: Vec<&str> = channels.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["ark:main", "ark:spare"]);
    let (main, spare) = (&channels[0], &channels[1]);
    assert_eq!((main.pool_of.as_str(), main.credentials.expose()), ("ark", "key-main-123"));
    assert_eq!(
        (main.priority, main.weight, main.max_in_flight, main.requests_per_second),
        (Some(3), 2, 7, 4.0),
        "inherited"
    );
    assert_eq!((main.daily_budget_usd, main.monthly_budget_usd), (Some(Usd(50_000_000)), None));
    assert_eq!(main.effective_base_url(), "https://ark.ap-southeast.bytepluses.com/api/v3");
    assert_eq!(spare.credentials.expose(), "key-spare-456", "read from its variable");
    assert_eq!(
        (spare.priority, spare.weight, spare.max_in_flight, spare.requests_per_second),
        (Some(3), 5, 2, 0.5),
        "the entry's priority, its own weight and limits"
    );
    assert_eq!((spare.daily_budget_usd, spare.monthly_budget_usd), (Some(Usd(1_250_000)), Some(Usd(30_000_000))));
    assert_eq!(spare.base_url, "http://spare.example/api/v3");
    assert!(channels.iter().all(|c| c.pool.is_none() && c.model == "seedance-1-5-pro-251215"));
    let routes = config.catalog().unwrap().resolve("seedance1.5-pro").unwrap().routes.clone();
    assert_eq!(routes, ["ark:main", "ark:spare"], "the entry serves the model through every member");
    assert_eq!(super::expand(&channels).unwrap().len(), 2, "expanding again changes nothing");
    let printed = toml::to_string(&config).unwrap();
    assert!(printed.contains("[[upstreams.pool]]") && !printed.contains("key-main-123"), "{printed}");
}

#[test]
fn a_model_routing_to_the_entry_gets_its_members_in_its_place() {
    let text = format!(
        "[models.\"seedance1.5-pro\"]\nroutes = [\"ark\", \"other\"]\n\n{ENTRY}{}{}\
         [[upstreams]]\nname = \"other\"\nkind = \"modelark\"\nmodel = \"seedance-1-5-pro-251215\"\ncredentials = \"k\"\n",
        member("a", "credentials = \"k1\"\n"),
        member("b", "credentials = \"k2\"\nproject = \"p2\"\nlocation = \"europe-west4\"\n"),
    );
    let config = load(&text, &[]).unwrap();
    let routes = config.catalog().unwrap().resolve("seedance1.5-pro").unwrap().routes.clone();
    assert_eq!(routes, ["ark:a", "ark:b", "other"]);
    let b = &config.channels().unwrap()[1];
    assert_eq!((b.project.as_str(), b.location.as_str()), ("p2", "europe-west4"));
}

#[test]
fn a_misconfigured_pool_stops_start_up_naming_the_entry_and_label_but_never_the_secret() {
    let secret = "sk-very-secret-789";
    let cases = [
        (
            format!(
                "{}{}",
                member("a", &format!("credentials = \"{secret}\"\n")),
                member("a", "credentials = \"x\"\n")
            ),
            "upstream ark: pool label \"a\" appears twice",
        ),
        (member("b", ""), "upstream ark: pool member \"b\" needs credentials or credentials_env"),
        (
            member("Bad:Label", &format!("credentials = \"{secret}\"\n")),
            "upstream ark: pool label \"Bad:Label\" must be 1 to 32 of [a-z0-9_-]",
        ),
        (member(&"x".repeat(33), "credentials = \"k\"\n"), "must be 1 to 32 of [a-z0-9_-]"),
        ("pool = []\n".to_owned(), "upstream ark: its pool is empty"),
    ];
    for (members, expected) in cases {
        let err = load(&format!("{ENTRY}{members}"), &[]).unwrap_err();
        assert!(err.contains(expected), "{err}");
        assert!(!err.contains(secret), "{err}");
    }
    let own = format!("{ENTRY}credentials = \"{secret}\"\n{}", member("a", "credentials = \"k\"\n"));
    let err = load(&own, &[]).unwrap_err();
    assert!(err.contains("upstream ark: an entry with a pool takes its credentials from its members"), "{err}");
    assert!(!err.contains(secret), "{err}");
    let own_env = format!("{ENTRY}credentials_env = \"ARK_KEY\"\n{}", member("a", "credentials = \"k\"\n"));
    assert!(load(&own_env, &[]).unwrap_err().contains("move credentials or credentials_env into each"));
    let unset = format!("{ENTRY}{}", member("a", "credentials_env = \"ARK_A\"\n"));
    assert_eq!(load(&unset, &[]).unwrap_err(), "upstream ark (pool member \"a\"): ARK_A is not set");
    let unknown = format!("{ENTRY}{}", member("a", "credentials = \"k\"\nregion = \"us\"\n"));
    assert!(load(&unknown, &[]).unwrap_err().contains("unknown field `region`"));
}

#[test]
fn a_member_name_cannot_collide_with_a_plain_entry_whose_names_refuse_the_colon() {
    let text = format!(
        "{ENTRY}{}[[upstreams]]\nname = \"ark:a\"\nkind = \"modelark\"\nmodel = \"m\"\n",
        member("a", "credentials = \"k\"\n")
    );
    let err = load(&text, &[]).unwrap_err();
    assert!(err.contains("upstream name \"ark:a\" must be non-empty [A-Za-z0-9._-]"), "{err}");
    let sandbox = "[[upstreams]]\nname = \"sandbox\"\nkind = \"openai\"\nmodel = \"m\"\nbase_url = \"http://x\"\n";
    let err = load(&format!("{sandbox}{}", member("a", "credentials = \"k\"\n")), &[]).unwrap_err();
    assert!(err.contains("reserved"), "{err}");
}
