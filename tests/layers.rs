//! The crate's layers (src/lib.rs lists them bottom to top) and its module graph, checked from the
//! source: a file may use only its own layer and the layers listed before it, and no chain of
//! files uses itself. This is the check CI runs, so an import that breaks the layering fails the
//! build's tests with the files that form it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

mod source;

/// A file as a module path: `src/train/trainer.rs` → ["train", "trainer"], `src/data/mod.rs` →
/// ["data"], `src/lib.rs` → [].
fn module_of(path: &Path) -> Vec<String> {
    let rel = path.strip_prefix("src").expect("under src");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// The source without comments, strings and `#[cfg(test)]` modules (a file's own unit tests may
/// use what they like from the file under test); code after a test module is read as any other.
fn code_of(source: &str) -> String {
    let source = source::without_test_modules(source);
    let mut out = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                }
                out.push_str("\"\"");
            }
            _ => out.push(c),
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every path the code names from `crate::` or `super::`, as absolute module paths (a `use` group
/// `crate::a::{b, c::D}` gives `a::b` and `a::c::D`).
fn paths_used(code: &str, here: &[String]) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !is_ident(bytes[i - 1]) && bytes[i - 1] != ':';
        let rest: String = bytes[i..bytes.len().min(i + 7)].iter().collect();
        let (base, skip) = if starts_word && rest.starts_with("crate::") {
            (Vec::new(), 7)
        } else if starts_word && rest.starts_with("super::") {
            // `super` is the module's parent: a folder's mod.rs is the folder's module itself.
            (here[..here.len().saturating_sub(1)].to_vec(), 7)
        } else {
            i += 1;
            continue;
        };
        i += skip;
        i = read_tree(&bytes, i, base, &mut found);
    }
    found
}

/// Reads `a::b::{c, d::E}` from `bytes[i..]` onto `prefix`, pushing each full path.
fn read_tree(bytes: &[char], mut i: usize, mut prefix: Vec<String>, found: &mut Vec<Vec<String>>) -> usize {
    loop {
        if i < bytes.len() && bytes[i] == '{' {
            i += 1;
            loop {
                while i < bytes.len() && (bytes[i].is_whitespace() || bytes[i] == ',') {
                    i += 1;
                }
                if i >= bytes.len() || bytes[i] == '}' {
                    return i + 1;
                }
                i = read_tree(bytes, i, prefix.clone(), found);
            }
        }
        if bytes.get(i) == Some(&'*') {
            // A glob (`a::b::*`): the path so far.
            found.push(prefix);
            return i + 1;
        }
        let start = i;
        while i < bytes.len() && is_ident(bytes[i]) {
            i += 1;
        }
        let word: String = bytes[start..i].iter().collect();
        if !word.is_empty() && word != "self" {
            prefix.push(word);
        }
        if bytes.get(i) == Some(&':') && bytes.get(i + 1) == Some(&':') {
            i += 2;
        } else {
            found.push(prefix);
            return i;
        }
    }
}

/// The command-line program's module (src/main.rs): the top of the layering.
const MAIN: &str = "main";

struct Crate {
    /// Module path → file.
    files: BTreeMap<Vec<String>, PathBuf>,
    /// The layers of src/lib.rs, bottom first.
    layers: Vec<String>,
}

impl Crate {
    fn read() -> Self {
        let paths = source::rust_files(Path::new("src"));
        let files = paths.into_iter().map(|p| (module_of(&p), p)).collect();
        let lib = fs::read_to_string("src/lib.rs").expect("src/lib.rs");
        let layers = lib
            .lines()
            .filter_map(|l| l.trim().strip_prefix("pub mod "))
            .map(|m| m.trim_end_matches(';').to_string())
            .collect();
        Self { files, layers }
    }

    /// The file a path lands in: its longest prefix that is a module of the crate, followed
    /// through a folder's `pub use child::Item` to the child that defines the item.
    fn file_of(&self, path: &[String]) -> Option<Vec<String>> {
        let module = (1..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|m| self.files.contains_key(m))?;
        let Some(item) = path.get(module.len()) else {
            return Some(module);
        };
        let child = self
            .reexports(&module)
            .into_iter()
            .find(|(name, child)| name == item || name == "*" && self.defines(child, item));
        match child {
            Some((_, child)) => {
                let mut deeper = child;
                deeper.extend(path[module.len()..].iter().cloned());
                self.file_of(&deeper)
            }
            None => Some(module),
        }
    }

    /// (item or `*`, child module) for each `pub use child::…` of a module's own children.
    fn reexports(&self, module: &[String]) -> Vec<(String, Vec<String>)> {
        let code = code_of(&fs::read_to_string(&self.files[module]).expect("readable file"));
        let mut out = Vec::new();
        for line in code.lines() {
            let Some(rest) = line.trim().strip_prefix("pub use ") else {
                continue;
            };
            let Some((child, items)) = rest.trim_end_matches(';').split_once("::") else {
                continue;
            };
            let mut m = module.to_vec();
            m.push(child.to_string());
            if !self.files.contains_key(&m) {
                continue;
            }
            for item in items.trim_matches(|c| c == '{' || c == '}').split(',') {
                out.push((item.trim().to_string(), m.clone()));
            }
        }
        out
    }

    /// Whether `module`'s file itself defines a public item called `name`.
    fn defines(&self, module: &[String], name: &str) -> bool {
        let code = code_of(&fs::read_to_string(&self.files[module]).expect("readable file"));
        code.lines().any(|l| {
            let words: Vec<&str> = l
                .split(|c: char| !is_ident(c))
                .filter(|w| !w.is_empty())
                .collect();
            words.first() == Some(&"pub")
                && words.windows(2).any(|w| {
                    matches!(
                        w[0],
                        "struct" | "enum" | "fn" | "const" | "trait" | "type" | "mod" | "static"
                    ) && w[1] == name
                })
        })
    }

    /// File → the files it uses (not counting a parent's `mod child;` declarations).
    fn graph(&self) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
        let mut graph = BTreeMap::new();
        for (module, file) in &self.files {
            let mut source = fs::read_to_string(file).expect("readable file");
            if module == &[MAIN.to_string()] {
                // The program names the library by its crate name.
                source = source.replace("tinytune::", "crate::");
            }
            let code = code_of(&source);
            let mut uses: BTreeSet<Vec<String>> = paths_used(&code, module)
                .iter()
                .filter_map(|p| self.file_of(p))
                .filter(|m| m != module)
                .collect();
            // `pub use child::Item` in a folder's mod.rs: the folder depends on that child.
            for line in code.lines() {
                let line = line.trim();
                if let Some(rest) = line.strip_prefix("pub use ")
                    && !rest.starts_with("crate::")
                {
                    let child = rest.split("::").next().unwrap_or_default().to_string();
                    let mut m = module.clone();
                    m.push(child);
                    if self.files.contains_key(&m) {
                        uses.insert(m);
                    }
                }
            }
            graph.insert(module.clone(), uses);
        }
        graph
    }

    fn layer_name(&self, layer: usize) -> &str {
        self.layers.get(layer).map_or("the CLI", String::as_str)
    }

    /// A module's layer: its top folder's place in src/lib.rs's list; the program (src/main.rs,
    /// the CLI) above them all.
    fn layer(&self, module: &[String]) -> Option<usize> {
        if module == [MAIN] {
            return Some(self.layers.len());
        }
        module
            .first()
            .and_then(|top| self.layers.iter().position(|l| l == top))
    }
}

fn show(m: &[String]) -> String {
    if m.is_empty() { "lib".into() } else { m.join("::") }
}

#[test]
fn lib_lists_every_layer_folder() {
    let c = Crate::read();
    assert!(c.layers.len() >= 8, "src/lib.rs lists the layers: {:?}", c.layers);
    let tops: BTreeSet<&String> = c
        .files
        .keys()
        .filter(|m| m.as_slice() != [MAIN])
        .filter_map(|m| m.first())
        .collect();
    for top in tops {
        assert!(
            c.layers.contains(top),
            "src/{top} is not a layer listed in src/lib.rs"
        );
    }
}

#[test]
fn each_layer_uses_only_the_layers_below_it() {
    let c = Crate::read();
    let mut wrong = Vec::new();
    for (from, uses) in c.graph() {
        let Some(lf) = c.layer(&from) else { continue };
        for to in uses {
            if let Some(lt) = c.layer(&to)
                && lt > lf
            {
                wrong.push(format!(
                    "{} (layer {}) uses {} (layer {}, above it)",
                    show(&from),
                    c.layer_name(lf),
                    show(&to),
                    c.layer_name(lt)
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layering:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_module_graph_has_no_cycle() {
    let c = Crate::read();
    let graph = c.graph();
    // Depth-first search; a grey node met again closes a cycle.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        White,
        Grey,
        Black,
    }
    let mut mark: BTreeMap<&Vec<String>, Mark> = graph.keys().map(|k| (k, Mark::White)).collect();
    let mut cycles = Vec::new();
    fn visit<'a>(
        n: &'a Vec<String>,
        graph: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        mark: &mut BTreeMap<&'a Vec<String>, Mark>,
        stack: &mut Vec<&'a Vec<String>>,
        cycles: &mut Vec<String>,
    ) {
        mark.insert(n, Mark::Grey);
        stack.push(n);
        for m in graph.get(n).into_iter().flatten() {
            match mark.get(m).copied() {
                Some(Mark::White) => visit(m, graph, mark, stack, cycles),
                Some(Mark::Grey) => {
                    let at = stack.iter().position(|s| *s == m).unwrap_or(0);
                    let chain: Vec<String> = stack[at..].iter().map(|s| show(s)).chain([show(m)]).collect();
                    cycles.push(chain.join(" → "));
                }
                _ => {}
            }
        }
        stack.pop();
        mark.insert(n, Mark::Black);
    }
    for n in graph.keys() {
        if mark[n] == Mark::White {
            visit(n, &graph, &mut mark, &mut Vec::new(), &mut cycles);
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_checker_sees_imports() {
    // The checks above pass vacuously if the reader finds nothing: make sure it reads real code.
    let code = code_of("use crate::a::{b, c::D, g::*};\nfn f() { super::e::F; } // crate::x\n\"crate::y\"");
    let found = paths_used(&code, &["m".into(), "n".into()]);
    let shown: Vec<String> = found.iter().map(|p| p.join("::")).collect();
    assert_eq!(shown, ["a::b", "a::c::D", "a::g", "m::e::F"]);
    // A file's test module is skipped, and the code after it is read.
    let code =
        code_of("#[cfg(test)]\nmod tests {\n    fn f() { let c = '}'; crate::x::Y; }\n}\nuse crate::z::W;");
    let shown: Vec<String> = paths_used(&code, &["m".into()])
        .iter()
        .map(|p| p.join("::"))
        .collect();
    assert_eq!(shown, ["z::W"]);
    let c = Crate::read();
    let graph = c.graph();
    // The CLI is read too, as the top layer.
    let main_uses = &graph[&vec![MAIN.to_string()]];
    assert!(
        main_uses.contains(&vec!["link".to_string(), "url".to_string()]),
        "{main_uses:?}"
    );
    let job_uses = &graph[&vec!["train".to_string(), "job".to_string()]];
    assert!(
        job_uses.contains(&vec!["model".to_string(), "mlp".to_string()]),
        "{job_uses:?}"
    );
}
