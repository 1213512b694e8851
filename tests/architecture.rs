//! The layering rules of `src/`, checked by parsing every source file with `syn`.
//!
//! Parsing rather than grepping means comments, doc strings and string literals never count:
//! only paths the compiler would see do. Paths are resolved against the file's module path, so
//! `super::super::db` is judged by where it lands, and `use crate::{api, db}` by each name in it.
//! Macro bodies are not parsed by `syn`, so their tokens are scanned for `a::b` sequences.
//!
//! This file uses nothing of the library: it reads `src/` as text and stays correct while the
//! library does not compile.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use proc_macro2::{Spacing, Span, TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

/// The HTTP framework's crates (`actix_web`, `actix_web_prom`, `actix_multipart`, also
/// `utoipa_actix_web` and `tracing_actix_web`): domain and service code name none of them.
fn is_http_crate(name: &str) -> bool {
    name.starts_with("actix") || name.ends_with("_actix_web")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rule {
    /// `src/domain` uses only itself of the crate, and no HTTP.
    Domain,
    /// `src/service` knows no HTTP: no actix, no `crate::api`, no `crate::web`.
    ServiceHttp,
    /// Public service functions take typed input, never `serde_json::Value`.
    ServiceJson,
    /// `src/api` and `src/web` go through services, never `crate::db`, not through each
    /// other, and never act as the command line's operator.
    FrontEnds,
    /// The mail worker depends on the outbox and configuration, not on the services.
    Mail,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rule::Domain => "domain uses only domain",
            Rule::ServiceHttp => "service knows no HTTP",
            Rule::ServiceJson => "public service fn takes a JSON value",
            Rule::FrontEnds => "front end reaches past the services",
            Rule::Mail => "mail uses the services",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Violation {
    file: String,
    line: usize,
    rule: Rule,
    path: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file, self.line, self.rule, self.path
        )
    }
}

fn line(span: Span) -> usize {
    span.start().line
}

fn starts_with(path: &[String], prefix: &[&str]) -> bool {
    path.len() >= prefix.len() && path.iter().zip(prefix).all(|(a, b)| a == b)
}

/// `Caller::operator`: the command line's caller, which no request may be turned into.
fn operator(path: &[String]) -> bool {
    path.windows(2)
        .any(|w| w[0] == "Caller" && w[1] == "operator")
}

/// Which rule, if any, a path named in a file of `layer` breaks. `path` is already resolved:
/// paths into this crate start with `crate`; a glob ends in `*`.
fn broken_rule(layer: &str, path: &[String]) -> Option<Rule> {
    let http = path.first().is_some_and(|c| is_http_crate(c));
    let ours = |module: &str| starts_with(path, &["crate", module]);
    match layer {
        // `crate::*` (a glob of the crate root) counts too: it brings `db` and the rest in.
        "domain" if http || (path.len() > 1 && path[0] == "crate" && !ours("domain")) => {
            Some(Rule::Domain)
        }
        "service" if http || ours("api") || ours("web") => Some(Rule::ServiceHttp),
        "api" if ours("db") || ours("web") || operator(path) => Some(Rule::FrontEnds),
        "web" if ours("db") || ours("api") || operator(path) => Some(Rule::FrontEnds),
        "mail" if ours("service") => Some(Rule::Mail),
        _ => None,
    }
}

/// Everything one file names, gathered in one walk over its syntax tree.
#[derive(Default)]
struct Collector {
    /// The module being walked: the file's module path, plus any inline `mod` blocks.
    module: Vec<String>,
    /// Every path named, resolved, with its line.
    paths: Vec<(usize, Vec<String>)>,
    /// Local names bound to `serde_json`'s `Value` or `Map` by a `use` anywhere in the file.
    json_names: HashSet<String>,
    /// Public functions: their line, name, and the paths in their parameter types.
    public_fns: Vec<(usize, String, Vec<Vec<String>>)>,
}

impl Collector {
    /// Makes `self::` and `super::` paths absolute; other paths are left as written.
    fn resolve(&self, segments: Vec<String>) -> Vec<String> {
        let first = segments.first().map(String::as_str);
        if !matches!(first, Some("self" | "super")) {
            return segments;
        }
        let mut module = self.module.clone();
        let mut rest = &segments[usize::from(first == Some("self"))..];
        while rest.first().is_some_and(|s| s == "super") {
            module.pop();
            rest = &rest[1..];
        }
        let mut resolved = vec!["crate".to_string()];
        resolved.extend(module);
        resolved.extend_from_slice(rest);
        resolved
    }

    fn name(&mut self, line: usize, segments: Vec<String>) {
        let resolved = self.resolve(segments);
        self.paths.push((line, resolved));
    }

    /// Expands a use tree into one path per name it brings in.
    fn use_tree(&mut self, tree: &syn::UseTree, prefix: &mut Vec<String>) {
        let (leaf, local, span) = match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(&p.tree, prefix);
                prefix.pop();
                return;
            }
            syn::UseTree::Group(g) => {
                g.items.iter().for_each(|item| self.use_tree(item, prefix));
                return;
            }
            syn::UseTree::Name(n) => (n.ident.to_string(), n.ident.to_string(), n.ident.span()),
            syn::UseTree::Rename(r) => (r.ident.to_string(), r.rename.to_string(), r.ident.span()),
            syn::UseTree::Glob(g) => ("*".to_string(), "*".to_string(), g.star_token.span),
        };
        let mut path = prefix.clone();
        if leaf != "self" {
            path.push(leaf);
        }
        let last = path.last().map(String::as_str);
        if path.first().is_some_and(|c| c == "serde_json") {
            match last {
                Some("Value" | "Map") => drop(self.json_names.insert(local)),
                Some("*") => self.json_names.extend(["Value".into(), "Map".into()]),
                _ => {}
            }
        }
        self.name(line(span), path);
    }

    /// Finds `a::b::c` runs in tokens `syn` leaves unparsed (macro bodies, attribute arguments).
    /// Comments are not tokens and string literals are not identifiers, so neither can match.
    fn tokens(&mut self, tokens: TokenStream) {
        let mut run: Vec<String> = Vec::new();
        let (mut start, mut colons) = (0, 0);
        for token in tokens {
            match token {
                TokenTree::Ident(ident) if colons == 2 && !run.is_empty() => {
                    run.push(ident.to_string());
                    colons = 0;
                }
                TokenTree::Ident(ident) => {
                    self.flush(start, &mut run);
                    (start, colons) = (line(ident.span()), 0);
                    run.push(ident.to_string());
                }
                TokenTree::Punct(p) if p.as_char() == ':' && colons == 0 => {
                    colons = if p.spacing() == Spacing::Joint { 1 } else { 3 };
                }
                TokenTree::Punct(p) if p.as_char() == ':' && colons == 1 => colons = 2,
                TokenTree::Group(group) => {
                    self.flush(start, &mut run);
                    self.tokens(group.stream());
                    colons = 0;
                }
                _ => {
                    self.flush(start, &mut run);
                    colons = 0;
                }
            }
        }
        self.flush(start, &mut run);
    }

    fn flush(&mut self, line: usize, run: &mut Vec<String>) {
        if !run.is_empty() {
            self.name(line, std::mem::take(run));
        }
    }

    fn public_fn(&mut self, vis: &syn::Visibility, sig: &syn::Signature) {
        let private = matches!(vis, syn::Visibility::Inherited)
            || matches!(vis, syn::Visibility::Restricted(r) if r.path.is_ident("self"));
        if private {
            return;
        }
        // The paths inside the parameter types: `Option<Map<String, Value>>` → Option, Map, ….
        let mut types = Collector::default();
        for input in &sig.inputs {
            if let syn::FnArg::Typed(arg) = input {
                types.visit_type(&arg.ty);
            }
        }
        let paths = types.paths.into_iter().map(|(_, path)| path).collect();
        let entry = (line(sig.ident.span()), sig.ident.to_string(), paths);
        self.public_fns.push(entry);
    }
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.name(line(path.span()), segments);
        visit::visit_path(self, path);
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&item.tree, &mut Vec::new());
        visit::visit_item_use(self, item);
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        self.module.push(item.ident.to_string());
        visit::visit_item_mod(self, item);
        self.module.pop();
    }

    /// `pub(crate)` names a scope, not a dependency.
    fn visit_vis_restricted(&mut self, _: &'ast syn::VisRestricted) {}

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.tokens(mac.tokens.clone());
        visit::visit_macro(self, mac);
    }

    fn visit_meta_list(&mut self, list: &'ast syn::MetaList) {
        self.tokens(list.tokens.clone());
        visit::visit_meta_list(self, list);
    }

    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        self.public_fn(&item.vis, &item.sig);
        visit::visit_item_fn(self, item);
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.public_fn(&item.vis, &item.sig);
        visit::visit_impl_item_fn(self, item);
    }
}

/// Checks one file; `file` is its path from the crate root, e.g. `src/service/rfas/mod.rs`.
fn check_source(file: &str, source: &str) -> Vec<Violation> {
    let ast = syn::parse_file(source)
        .unwrap_or_else(|e| panic!("{file}:{}: cannot parse: {e}", line(e.span())));
    // `src/a/b.rs` and `src/a/b/mod.rs` are `crate::a::b`; lib.rs and main.rs are the root.
    let inner = file
        .strip_prefix("src/")
        .unwrap_or(file)
        .trim_end_matches(".rs");
    let mut module: Vec<String> = inner.split('/').map(String::from).collect();
    let layer = module[0].clone();
    if module.last().is_some_and(|m| m == "mod") || matches!(inner, "lib" | "main") {
        module.pop();
    }
    let mut found = Collector {
        module,
        ..Collector::default()
    };
    found.visit_file(&ast);

    let mut violations = Vec::new();
    let mut report = |line, rule: Rule, path: String| {
        let file = file.to_string();
        violations.push(Violation {
            file,
            line,
            rule,
            path,
        });
    };
    for (line, path) in &found.paths {
        if let Some(rule) = broken_rule(&layer, path) {
            report(*line, rule, path.join("::"));
        }
    }
    if layer == "service" {
        let is_json = |p: &Vec<String>| match p.as_slice() {
            [name] => found.json_names.contains(name),
            [krate, .., last] => krate == "serde_json" && matches!(last.as_str(), "Value" | "Map"),
            [] => false,
        };
        for (line, name, type_paths) in &found.public_fns {
            if let Some(json) = type_paths.iter().find(|p| is_json(p)) {
                report(
                    *line,
                    Rule::ServiceJson,
                    format!("fn {name}(.. {} ..)", json.join("::")),
                );
            }
        }
    }
    violations.sort();
    violations.dedup();
    violations
}

/// Checks every `.rs` file under `src/`, in a stable order.
fn check_tree(root: &Path) -> Vec<Violation> {
    fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root.join("src"), &mut files);
    files.sort();
    assert!(
        !files.is_empty(),
        "no source files under {}/src",
        root.display()
    );
    let check = |path: &std::path::PathBuf| {
        let source =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let relative = path.strip_prefix(root).expect("under the root");
        check_source(&relative.to_string_lossy(), &source)
    };
    files.iter().flat_map(check).collect()
}

fn assert_clean(rule: Rule) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let broken: Vec<String> = check_tree(root)
        .into_iter()
        .filter(|v| v.rule == rule)
        .map(|v| v.to_string())
        .collect();
    assert!(
        broken.is_empty(),
        "{} violation(s) of '{rule}':\n{}",
        broken.len(),
        broken.join("\n")
    );
}

#[test]
fn domain_imports_nothing_else_of_ours() {
    assert_clean(Rule::Domain);
}

#[test]
fn services_know_no_http() {
    assert_clean(Rule::ServiceHttp);
}

#[test]
fn no_public_service_function_takes_json_values() {
    assert_clean(Rule::ServiceJson);
}

#[test]
fn front_ends_never_reach_the_database() {
    assert_clean(Rule::FrontEnds);
}

#[test]
fn the_mail_worker_does_not_use_the_services() {
    assert_clean(Rule::Mail);
}

/// The checker itself: each rule must fire on a file that breaks it, and only there.
/// (The sources start with a newline, so their first line of code is line 2.)
mod checker {
    use super::*;

    /// Asserts the `line: path` of each violation of `rule` in one in-memory file.
    fn finds(file: &str, source: &str, rule: Rule, expected: &[&str]) {
        let found: Vec<String> = check_source(file, source)
            .into_iter()
            .filter(|v| v.rule == rule)
            .map(|v| format!("{}: {}", v.line, v.path))
            .collect();
        assert_eq!(found, expected, "in {file}:{source}");
    }

    #[test]
    fn domain_rule_fires() {
        let src = r"
use crate::db::Pool;
fn f() -> actix_web::HttpResponse { todo!() }
use super::policy::Action;
mod tests { use super::*; use crate::{domain, error}; }
";
        let expected = [
            "2: crate::db::Pool",
            "3: actix_web::HttpResponse",
            "5: crate::error",
        ];
        finds("src/domain/x.rs", src, Rule::Domain, &expected);
        // In the layer's mod.rs, `super` is the crate root, except inside an inline module.
        let src = r#"
mod tests { use super::*; fn f() { super::super::db::run(); } }
use super::*;
#[derive(serde::Serialize)]
#[serde(crate = "serde")]
pub(crate) struct S;
"#;
        let expected = ["2: crate::db::run", "3: crate::*"];
        finds("src/domain/mod.rs", src, Rule::Domain, &expected);
    }

    #[test]
    fn service_http_rule_fires() {
        let src = r"
use actix_web::HttpRequest;
use crate::{api, db};
fn f() { let _ = vec![crate::web::page()]; }
#[utoipa::path(get, responses((status = 200, body = crate::api::X)))]
fn g() {}
";
        let expected = [
            "2: actix_web::HttpRequest",
            "3: crate::api",
            "4: crate::web::page",
            "5: crate::api::X",
        ];
        finds("src/service/x.rs", src, Rule::ServiceHttp, &expected);
    }

    #[test]
    fn service_json_rule_fires() {
        let src = r"
use serde_json::{Map, Value};
pub fn a(v: Value) {}
pub(crate) fn b(m: &Map<String, String>) {}
struct S;
impl S { pub async fn c(&self, v: Option<serde_json::Value>) {} }
pub fn returns_json(s: &str) -> Value { todo!() }
fn private(v: Value) {}
impl From<Value> for S { fn from(v: Value) -> S { S } }
";
        let expected = [
            "3: fn a(.. Value ..)",
            "4: fn b(.. Map ..)",
            "6: fn c(.. serde_json::Value ..)",
        ];
        finds("src/service/x/mod.rs", src, Rule::ServiceJson, &expected);
        // Without the import, a bare `Value` is some other type.
        finds(
            "src/service/x.rs",
            "pub fn a(v: Value) {}",
            Rule::ServiceJson,
            &[],
        );
    }

    #[test]
    fn front_end_rule_fires() {
        // From `crate::api::x::y`, three `super`s reach the root; two stay in `crate::api`.
        let src = r"
use super::super::super::db::outbox;
use super::super::shared;
fn f() { crate::db::run(); crate::web::page(); }
";
        let expected = [
            "2: crate::db::outbox",
            "4: crate::db::run",
            "4: crate::web::page",
        ];
        finds("src/api/x/y.rs", src, Rule::FrontEnds, &expected);
        let expected = ["1: crate::api", "1: crate::db"];
        finds(
            "src/web/mod.rs",
            "use super::{db, api};",
            Rule::FrontEnds,
            &expected,
        );
    }

    #[test]
    fn mail_rule_fires() {
        let src = r"
use crate::service::rfas::Context;
use crate::service::chain;
use crate::db::outbox;
";
        let expected = [
            "2: crate::service::rfas::Context",
            "3: crate::service::chain",
        ];
        finds("src/mail/worker.rs", src, Rule::Mail, &expected);
    }

    #[test]
    fn front_ends_never_act_as_the_operator() {
        let src = r"
fn f() { let _ = Caller::operator(None, vec![]); }
fn g() { let _ = crate::service::accounts::Caller::operator(None, vec![]); }
fn h(c: Caller) -> Caller { c }
";
        let expected = [
            "2: Caller::operator",
            "3: crate::service::accounts::Caller::operator",
        ];
        finds("src/web/x.rs", src, Rule::FrontEnds, &expected);
    }

    #[test]
    fn comments_and_strings_are_not_paths() {
        let src = r#"//! Unlike `crate::api::json::parse`, this never uses actix_web::HttpRequest.
/// See [`crate::api`] and crate::db.
#[doc = "crate::web"]
fn f() -> &'static str {
    // crate::api::x
    /* crate::db */
    let _ = format!("crate::api {}", 1);
    "actix_web::X"
}
"#;
        assert_eq!(check_source("src/service/x.rs", src), []);
        assert_eq!(check_source("src/domain/x.rs", src), []);
        assert_eq!(check_source("src/api/x.rs", src), []);
    }
}
