//! Weights out and in (#35): a run's weights written as safetensors and read back into a new run
//! score exactly what the run that saved them scores at its next step (the MLP and the
//! transformer); a LoRA put on loaded weights leaves them as they were and writes its adapters
//! apart; a file of another shape, family or kind is refused with what differs, in the library
//! and in the CLI.

use tinytune::knobs::ExperimentConfig;
use tinytune::link::url;
use tinytune::model::backend;
use tinytune::model::checkpoint::{self, Checkpoint, META_FAMILY, META_KIND, META_LINK};
use tinytune::train::metrics::Run;
use tinytune::train::{Weights, train_run_from};

fn cfg(query: &str) -> ExperimentConfig {
    url::parse_strict(query).unwrap().experiment
}

fn train(c: &ExperimentConfig, start: Option<&Checkpoint>) -> (Run, Weights) {
    let (run, w) = pollster::block_on(train_run_from(c, &backend::cpu(), 10, start, true)).unwrap();
    (run, w.unwrap())
}

fn val_at(run: &Run, step: usize) -> f32 {
    run.reports[step].val_loss.expect("an evaluated step")
}

/// The run of `query` to `steps`, saved; the same run one step longer; and a run from the saved
/// weights: its first evaluation is the longer run's last, to the bit.
fn resumes_exactly(query: &str, steps: usize) {
    let saved = cfg(&format!("{query}&steps={steps}"));
    let (_, weights) = train(&saved, None);
    let bytes = weights.base.to_bytes().unwrap();
    let back = Checkpoint::from_bytes(&bytes).unwrap();
    // The file keeps every tensor and the metadata (in name order).
    let mut sorted = weights.base.clone();
    sorted.tensors.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(back == sorted, "the safetensors round trip changed the weights");
    assert_eq!(back.meta[META_LINK], url::experiment_query(&saved));
    assert_eq!(back.meta[META_KIND], "base");

    let (longer, _) = train(&cfg(&format!("{query}&steps={}", steps + 1)), None);
    assert_eq!(longer.reports.len(), steps + 1, "steps sets the run's length");
    let (loaded, _) = train(&cfg(&format!("{query}&steps=3")), Some(&back));
    assert_eq!(val_at(&loaded, 0), val_at(&longer, steps), "{query}");
    // A fresh run starts elsewhere.
    let (fresh, _) = train(&cfg(&format!("{query}&steps=3")), None);
    assert_ne!(val_at(&fresh, 0), val_at(&loaded, 0));
}

#[test]
fn the_mlp_resumes_from_its_weights_exactly() {
    resumes_exactly("task=moons&w=16&d=2", 30);
}

#[test]
fn the_transformer_resumes_from_its_weights_exactly() {
    resumes_exactly("task=text&w=32&d=1&heads=2&ctx=16&bs=8", 12);
}

#[test]
fn a_subspace_run_saves_the_weights_it_trained() {
    // θ = θ0 + P·z: the file holds θ, not θ0, and a run from it starts there.
    resumes_exactly("task=digits&w=16&d=1&r=sub40&shift=none&lr=0.05", 20);
}

#[test]
fn lora_on_loaded_weights_keeps_them_and_writes_its_adapters_apart() {
    let (_, pre) = train(&cfg("task=xor&w=16&d=2&steps=40"), None);
    let (_, tuned) = train(&cfg("task=xor&w=16&d=2&r=2&shift=none&steps=20"), Some(&pre.base));
    assert!(
        tuned.base.tensors == pre.base.tensors,
        "a LoRA run's base stays frozen"
    );
    let adapters = tuned.adapters.expect("LoRA's factors");
    assert_eq!(adapters.meta[META_KIND], "adapters");
    let names: Vec<&str> = adapters.tensors.iter().map(|t| t.name.as_str()).collect();
    assert!(
        names
            .iter()
            .all(|n| n.ends_with("lora_a") || n.ends_with("lora_b")),
        "{names:?}"
    );
    assert_eq!(
        names.len(),
        2 * 3,
        "A and B of the three hidden and input layers: {names:?}"
    );
    // Adapters alone are not a model.
    let err = checkpoint::check_family(&adapters, &cfg("task=xor&w=16&d=2")).unwrap_err();
    assert!(err.contains("adapters only"), "{err}");
}

#[test]
fn weights_of_another_shape_family_or_format_are_refused_with_what_differs() {
    let (_, w) = train(&cfg("task=xor&w=16&d=2&steps=2"), None);
    let wider = tinytune::train::Job::new_from(&cfg("task=xor&w=32&d=2"), &backend::cpu(), Some(&w.base));
    let err = wider.err().unwrap();
    assert!(
        err.contains("input.weight is [2, 16] in the file and [2, 32]"),
        "{err}"
    );
    let deeper = tinytune::train::Job::new_from(&cfg("task=xor&w=16&d=3"), &backend::cpu(), Some(&w.base));
    let err = deeper.err().unwrap();
    assert!(
        err.contains("hidden.2.weight") && err.contains("not in the file"),
        "{err}"
    );
    let err = checkpoint::check_family(&w.base, &cfg("task=copy")).unwrap_err();
    assert_eq!(
        err,
        "the file holds the weights of model=mlp and this experiment trains model=gpt"
    );
    let mut renamed = w.base.clone();
    renamed.meta.remove(META_FAMILY);
    renamed.tensors[0].name = "encoder.weight".into();
    let err =
        tinytune::train::Job::new_from(&cfg("task=xor&w=16&d=2&steps=2"), &backend::cpu(), Some(&renamed))
            .err()
            .unwrap();
    assert!(
        err.contains("the file's encoder.weight not in this model"),
        "{err}"
    );
    assert!(
        Checkpoint::from_bytes(b"not safetensors at all")
            .unwrap_err()
            .contains("not safetensors")
    );
    // Same shapes, another function: loaded, and said.
    assert!(checkpoint::differences(&w.base, &cfg("task=xor&w=16&d=2")).is_empty());
    assert_eq!(
        checkpoint::differences(&w.base, &cfg("task=xor&w=16&d=2&act=tanh")),
        ["the weights were trained with act=relu and this run has act=tanh"]
    );
    // A half-precision file: named, not misread.
    let mut f16 = w.base.to_bytes().unwrap();
    let header_len = u64::from_le_bytes(f16[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8(f16[8..8 + header_len].to_vec())
        .unwrap()
        .replace("\"F32\"", "\"I32\"");
    f16.splice(8..8 + header_len, header.into_bytes());
    assert!(
        Checkpoint::from_bytes(&f16)
            .unwrap_err()
            .contains("tinytune reads F32")
    );
}

#[test]
fn the_cli_saves_and_loads_weights_and_refuses_a_mismatch() {
    let dir = std::env::temp_dir().join(format!("tinytune-weights-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("digits.safetensors");
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tinytune"))
            .args(args)
            .output()
            .unwrap()
    };
    let path = file.to_str().unwrap();
    let out = cli(&[
        "task=digits&w=32&steps=20&r=2&shift=none",
        "--summary",
        "--save-weights",
        path,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        dir.join("digits-adapters.safetensors").exists(),
        "adapters beside the base"
    );
    let out = cli(&["task=digits&w=32&steps=5", "--summary", "--load-weights", path]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = cli(&["task=digits&w=64&steps=5", "--load-weights", path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("in the file and"));
    let out = cli(&["task=digits&w=32&sweep=lr:0.01,0.02", "--load-weights", path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("single run"));
    std::fs::remove_dir_all(&dir).ok();
}
