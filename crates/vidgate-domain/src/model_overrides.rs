//! The `models` key of the config: either `[[models]]`, a whole catalog that replaces the
//! shipped one, or `[models."<id>"]` tables that change single models of the shipped
//! catalog (price, sizes, durations, routes) and keep everything else as shipped.
//!
//! It owns the two shapes and applying overrides; checking the resulting catalog is
//! [`Catalog::new`]'s, whose errors are prefixed with the table at fault.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::catalog::{CancelPolicy, Catalog, ModelSpec, Size};
use crate::money::Usd;

/// The config's `models`: a replacement catalog, or overrides of the shipped one.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelsConfig {
    /// `[[models]]`: the whole catalog (empty: the shipped one).
    Replace(Vec<ModelSpec>),
    /// `[models."<id or alias>"]`: changes to single shipped models.
    Override(BTreeMap<String, ModelOverride>),
}

/// One `[models."<id>"]` table: every key is optional and replaces the shipped value.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_second: Option<Usd>,
    /// Replaces the whole table; when only `sizes` is given, prices of sizes left out are dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_by_size: Option<BTreeMap<Size, Usd>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durations: Option<Vec<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_duration: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sizes: Option<Vec<Size>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_size: Option<Size>,
    /// Upstream names in order; an upstream's `serves` still appends to them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_policy: Option<CancelPolicy>,
}

impl Default for ModelsConfig {
    fn default() -> Self {
        ModelsConfig::Replace(Vec::new())
    }
}

impl From<Vec<ModelSpec>> for ModelsConfig {
    fn from(models: Vec<ModelSpec>) -> Self {
        ModelsConfig::Replace(models)
    }
}

impl ModelsConfig {
    /// Whether it leaves the shipped catalog as it is.
    pub fn is_empty(&self) -> bool {
        match self {
            ModelsConfig::Replace(models) => models.is_empty(),
            ModelsConfig::Override(overrides) => overrides.is_empty(),
        }
    }

    /// The whole catalog as a list to edit (tests and tools build configs this way):
    /// overrides are applied to the shipped catalog first and become that list.
    pub fn whole_mut(&mut self) -> &mut Vec<ModelSpec> {
        if let ModelsConfig::Override(overrides) = self {
            let catalog = apply(Catalog::shipped(), overrides).unwrap_or_else(|_| Catalog::shipped());
            *self = ModelsConfig::Replace(catalog.models().to_vec());
        }
        match self {
            ModelsConfig::Replace(models) => models,
            ModelsConfig::Override(_) => unreachable!("replaced above"),
        }
    }

    /// Adds a model to a `[[models]]` list (see [`ModelsConfig::whole_mut`]).
    pub fn push(&mut self, model: ModelSpec) {
        self.whole_mut().push(model);
    }

    /// The catalog it describes, before upstreams' `serves` are appended.
    pub fn catalog(&self) -> Result<Catalog, String> {
        match self {
            ModelsConfig::Replace(models) if models.is_empty() => Ok(Catalog::shipped()),
            ModelsConfig::Replace(models) => Catalog::new(models.clone()),
            ModelsConfig::Override(overrides) => apply(Catalog::shipped(), overrides),
        }
    }
}

/// The catalog with each override applied to the model it names (by id or alias).
pub fn apply(catalog: Catalog, overrides: &BTreeMap<String, ModelOverride>) -> Result<Catalog, String> {
    let mut models = catalog.models().to_vec();
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for (name, o) in overrides {
        let table = format!("[models.{name:?}]");
        let Some(model) = models.iter_mut().find(|m| &m.id == name || m.aliases.contains(name)) else {
            let ids = catalog.models().iter().map(|m| m.id.as_str()).collect::<Vec<_>>().join(", ");
            return Err(format!("{table}: the shipped catalog has no model {name:?}; its models are {ids}"));
        };
        if let Some(first) = seen.insert(model.id.clone(), name) {
            return Err(format!("{table}: model {} is already changed by [models.{first:?}]", model.id));
        }
        override_model(model, o);
        Catalog::new(vec![model.clone()]).map_err(|e| format!("{table}: {e}"))?;
    }
    Catalog::new(models)
}

fn override_model(model: &mut ModelSpec, o: &ModelOverride) {
    if let Some(price) = o.usd_per_second {
        model.usd_per_second = price;
    }
    if let Some(sizes) = &o.sizes {
        model.sizes = sizes.clone();
        model.price_by_size.retain(|size, _| sizes.contains(size));
    }
    if let Some(prices) = &o.price_by_size {
        model.price_by_size = prices.clone();
    }
    if let Some(durations) = &o.durations {
        model.durations = durations.clone();
    }
    if let Some(d) = o.default_duration {
        model.default_duration = d;
    }
    if let Some(s) = o.default_size {
        model.default_size = s;
    }
    if let Some(routes) = &o.routes {
        model.routes = routes.clone();
    }
    if let Some(policy) = o.cancel_policy {
        model.cancel_policy = policy;
    }
}

impl Serialize for ModelsConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ModelsConfig::Replace(models) => models.serialize(s),
            ModelsConfig::Override(overrides) => overrides.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for ModelsConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ModelsVisitor)
    }
}

/// An array is a replacement catalog, a table a set of overrides; each is then read by its
/// own derive, so errors name the field at fault rather than "no variant matched".
struct ModelsVisitor;

impl<'de> serde::de::Visitor<'de> for ModelsVisitor {
    type Value = ModelsConfig;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("[[models]] (a whole catalog) or [models.\"<id>\"] tables (changes to shipped models)")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<ModelsConfig, A::Error> {
        Vec::deserialize(SeqAccessDeserializer::new(seq)).map(ModelsConfig::Replace)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<ModelsConfig, A::Error> {
        BTreeMap::deserialize(MapAccessDeserializer::new(map)).map(ModelsConfig::Override)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn load(text: &str) -> Result<Catalog, String> {
        Config::load(text, Vec::new())?.catalog()
    }

    #[test]
    fn one_price_changes_and_every_other_model_stays_as_shipped() {
        let c = load("[models.\"veo3.1\"]\nusd_per_second = \"0.55\"\n").unwrap();
        let veo = c.resolve("veo3.1").unwrap();
        assert_eq!(veo.usd_per_second, Usd(550_000));
        let shipped = Catalog::shipped();
        assert_eq!(veo.sizes, shipped.resolve("veo3.1").unwrap().sizes);
        assert_eq!(c.models().len(), shipped.models().len());
        assert_eq!(c.resolve("sora2-pro"), shipped.resolve("sora2-pro"));
    }

    #[test]
    fn an_alias_names_the_model_and_durations_sizes_and_routes_are_replaced() {
        let text = "[models.\"veo-3.1\"]\ndurations = [4, 8]\ndefault_duration = 8\nsizes = [\"1280x720\"]\n\
                    default_size = \"1280x720\"\nroutes = [\"g\"]\ncancel_policy = \"charge\"\n\n\
                    [[upstreams]]\nname = \"g\"\nkind = \"gemini\"\nmodel = \"veo-3.1-generate-preview\"\n";
        let c = load(text).unwrap();
        let veo = c.resolve("veo3.1").unwrap();
        assert_eq!(veo.durations, [4, 8]);
        assert_eq!((veo.default_duration, veo.sizes.clone()), (8, vec![Size::new(1280, 720)]));
        assert_eq!(veo.routes, ["g"]);
        assert_eq!(veo.cancel_policy, CancelPolicy::Charge);
    }

    #[test]
    fn narrowing_sizes_drops_the_prices_of_sizes_left_out() {
        let text = "[models.\"sora2-pro\"]\nsizes = [\"1280x720\", \"1920x1080\"]\n";
        let pro = load(text).unwrap().resolve("sora2-pro").unwrap().clone();
        assert_eq!(pro.price_by_size.into_iter().collect::<Vec<_>>(), [(Size::new(1920, 1080), Usd(500_000))]);
    }

    #[test]
    fn an_unknown_model_is_refused_naming_the_table_and_the_shipped_ids() {
        let err = Config::load("[models.veo4]\nusd_per_second = \"1\"\n", Vec::new()).unwrap_err();
        assert_eq!(
            err,
            "[models.\"veo4\"]: the shipped catalog has no model \"veo4\"; its models are \
             veo3.1, veo3.1-fast, veo3.1-lite, sora2, sora2-pro, seedance2, seedance2-fast, \
             seedance-2.0-pro-fast, seedance-1.5-pro, wan2.6, minimax-h3, hailuo-2.3, kling2.6, kling3.0, ltx-2.3, gen4.5, ray-3.2, ray-2"
        );
    }

    #[test]
    fn a_default_left_off_the_new_menu_is_refused_naming_the_table() {
        let err = Config::load("[models.\"veo3.1\"]\ndurations = [4, 8]\n", Vec::new()).unwrap_err();
        assert_eq!(err, "[models.\"veo3.1\"]: model veo3.1: default_duration 5 is not in durations");
    }

    #[test]
    fn the_same_model_twice_by_id_and_alias_is_refused() {
        let text = "[models.\"veo-3.1\"]\nusd_per_second = \"1\"\n[models.\"veo3.1\"]\nusd_per_second = \"2\"\n";
        let err = Config::load(text, Vec::new()).unwrap_err();
        assert_eq!(err, "[models.\"veo3.1\"]: model veo3.1 is already changed by [models.\"veo-3.1\"]");
    }

    #[test]
    fn an_unknown_key_or_a_negative_price_is_refused() {
        let err = Config::load("[models.\"veo3.1\"]\nprice = \"1\"\n", Vec::new()).unwrap_err();
        assert!(err.starts_with("config file: unknown field `price`"), "{err}");
        let err = Config::load("[models.\"veo3.1\"]\nusd_per_second = \"-1\"\n", Vec::new()).unwrap_err();
        assert_eq!(err, "[models.\"veo3.1\"]: model veo3.1: prices must not be negative");
    }

    #[test]
    fn a_whole_catalog_still_replaces_the_shipped_one_and_prints_back() {
        let text = "[[models]]\nid = \"m\"\ndurations = [4]\ndefault_duration = 4\nsizes = [\"64x64\"]\n\
                    default_size = \"64x64\"\nmax_prompt_chars = 10\nusd_per_second = \"0.01\"\n";
        let config = Config::load(text, Vec::new()).unwrap();
        assert_eq!(config.catalog().unwrap().models().len(), 1);
        let overrides = Config::load("[models.sora2]\nusd_per_second = \"0.12\"\n", Vec::new()).unwrap();
        let printed = toml::to_string(&overrides).unwrap();
        assert!(printed.contains("[models.sora2]\nusd_per_second = 0.12\n"), "{printed}");
        assert_eq!(Config::load(&printed, Vec::new()).unwrap().models, overrides.models);
    }
}
