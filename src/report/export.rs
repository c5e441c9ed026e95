//! Runs written out for other tools: the CLI's CSV tables (docs/ARCHITECTURE.md §5) and the page's CSV and
//! JSON downloads. CSV goes through the `csv` crate, so a field holding a comma (a panel named
//! "residual, branch × 1") is quoted.

use crate::train::metrics::Run;

fn cell(v: Option<f32>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn strings<const N: usize>(fields: [&str; N]) -> Vec<String> {
    fields.iter().map(ToString::to_string).collect()
}

/// `rows` (the header first) as CSV text, fields quoted where they hold a comma, a quote or a
/// line break (RFC 4180).
pub fn csv_text(rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut w = csv::WriterBuilder::new().flexible(false).from_writer(Vec::new());
    for row in rows {
        // Writing to memory only fails on rows of unequal length: a bug here, not bad input.
        w.write_record(&row)
            .expect("every CSV row has the header's columns");
    }
    let bytes = w.into_inner().expect("writing to memory does not fail");
    String::from_utf8(bytes).expect("CSV of UTF-8 fields is UTF-8")
}

/// One row per logged step per run (`val_loss` empty where not evaluated). Transformer runs add
/// exact-match accuracy on training and validation examples (per character for text, at
/// evaluation steps), the largest attention logit and the mean output log Z, and with a z-loss
/// its term in the training loss (`z_loss`: train_loss − z_loss is the cross-entropy, which is
/// all `val_loss` holds); the char LM adds the validation loss in bits per character; `norms`
/// adds every step's global gradient norm (before clipping) and update norm; matrix sensing adds
/// the recovery error ‖M − M*‖_F / ‖M*‖_F (√ of `val_loss`) and M's singular values, largest
/// first, space-separated in one field, at evaluation steps.
pub fn to_csv(runs: &[Run]) -> String {
    let norms = runs.iter().any(|r| r.config.norms);
    let sensing = runs
        .iter()
        .any(|r| r.config.task == crate::knobs::task::Task::Sense);
    let seq = runs.iter().any(|r| r.config.is_transformer());
    let z = runs
        .iter()
        .any(|r| r.config.is_transformer() && r.config.gpt.z_loss > 0.0);
    let text = runs
        .iter()
        .any(|r| r.config.task == crate::knobs::task::Task::Text);
    let mut header = strings(["run", "step", "train_loss", "val_loss"]);
    if seq {
        header.extend(strings(["train_acc", "val_acc", "max_attn_logit", "log_z"]));
    }
    if z {
        header.push("z_loss".into());
    }
    if text {
        header.push("val_bits_per_char".into());
    }
    if norms {
        header.extend(strings(["grad_norm", "update_norm"]));
    }
    if sensing {
        header.extend(strings(["recovery_error", "singular_values"]));
    }
    let mut rows = vec![header];
    for (i, run) in runs.iter().enumerate() {
        for r in &run.reports {
            let mut row = vec![
                i.to_string(),
                r.step.to_string(),
                r.train_loss.to_string(),
                cell(r.val_loss),
            ];
            if seq {
                let s = r.seq.as_ref();
                row.extend([
                    cell(s.and_then(|s| s.train_acc)),
                    cell(s.and_then(|s| s.val_acc)),
                    cell(s.map(|s| s.max_logit)),
                    cell(s.map(|s| s.log_z)),
                ]);
            }
            if z {
                row.push(cell(r.seq.as_ref().and_then(|s| s.z_loss)));
            }
            if text {
                let bits = (run.config.task == crate::knobs::task::Task::Text)
                    .then_some(r.val_loss)
                    .flatten()
                    .map(|l| l / std::f32::consts::LN_2);
                row.push(cell(bits));
            }
            if norms {
                let n = r.norms.as_ref();
                row.extend([cell(n.map(|n| n.grad)), cell(n.map(|n| n.update))]);
            }
            if sensing {
                let sv = r
                    .singular
                    .as_ref()
                    .map(|s| s.iter().map(f32::to_string).collect::<Vec<_>>().join(" "));
                row.extend([
                    cell(r.singular.as_ref().and(r.val_loss).map(f32::sqrt)),
                    sv.unwrap_or_default(),
                ]);
            }
            rows.push(row);
        }
    }
    csv_text(rows)
}

/// `run` and the swept knobs' names: how every per-run table's header starts.
fn knob_header(runs: &[Run]) -> Vec<String> {
    let knobs = runs.first().map(|r| r.knobs.as_slice()).unwrap_or_default();
    std::iter::once("run".to_string())
        .chain(knobs.iter().map(|(k, _)| k.name.to_string()))
        .collect()
}

/// Run `i`'s index and swept values: how its rows start.
fn knob_row(i: usize, run: &Run) -> Vec<String> {
    std::iter::once(i.to_string())
        .chain(run.knobs.iter().map(|(_, v)| v.clone()))
        .collect()
}

/// `--summary`: one row per run, with a column per swept knob (docs/ARCHITECTURE.md §5).
pub fn to_summary_csv(runs: &[Run]) -> String {
    let mut header = knob_header(runs);
    header.extend(strings([
        "final_train_loss",
        "final_val_loss",
        "best_val_loss",
        "diverged",
        "trainable_params",
        "loss_floor",
    ]));
    // PTQ adds the quantized model's loss and both models' sizes.
    let ptq = runs
        .iter()
        .any(|r| r.config.quant.enabled() && r.config.quant.mode == crate::knobs::quant::QMode::Ptq);
    if ptq {
        header.extend(strings(["quant_val_loss", "model_bytes", "float_bytes"]));
    }
    // A classification task adds the validation accuracy at the last evaluation.
    let acc = runs.iter().any(|r| r.final_val_acc().is_some());
    if acc {
        header.extend(strings(["final_val_acc"]));
    }
    // With `gns`, the last smoothed noise scale B_simple.
    let gns = runs.iter().any(|r| r.config.gns);
    if gns {
        header.extend(strings(["noise_scale"]));
    }
    let mut rows = vec![header];
    for (i, run) in runs.iter().enumerate() {
        let mut row = knob_row(i, run);
        row.extend([
            cell(run.final_train_loss()),
            cell(run.final_val_loss()),
            cell(run.best_val_loss()),
            u8::from(run.diverged).to_string(),
            run.config.trainable_params().to_string(),
            crate::data::planted::loss_floor(&run.config)
                .map(|f| format!("{f:.6}"))
                .unwrap_or_default(),
        ]);
        if ptq {
            row.extend([
                cell(run.quant_val_loss()),
                run.config.model_bytes().to_string(),
                run.config.float_bytes().to_string(),
            ]);
        }
        if acc {
            row.push(cell(run.final_val_acc()));
        }
        if gns {
            let last = run.noise_scale().last().map(|&(_, _, b)| format!("{b:.6}"));
            row.push(last.unwrap_or_default());
        }
        rows.push(row);
    }
    csv_text(rows)
}

/// The coordinate check: one row per run, step and layer, the swept knobs as columns (`step`
/// counts updates taken; the statistic is measured after them).
pub fn to_coord_csv(runs: &[Run]) -> String {
    let mut header = knob_header(runs);
    header.extend(strings(["step", "layer", "mean_abs"]));
    let mut rows = vec![header];
    for (i, run) in runs.iter().enumerate() {
        let names = run.config.coord_names();
        for (step, values) in run.coords() {
            for (name, v) in names.iter().zip(values) {
                let mut row = knob_row(i, run);
                row.extend([step.to_string(), name.clone(), v.to_string()]);
                rows.push(row);
            }
        }
    }
    csv_text(rows)
}

/// Pruning (`prune`): one row per run, method and sparsity with the pruned model's validation
/// loss, then one per run, layer and sparsity with the share of the layer's weights global
/// magnitude pruning keeps (`method` = `kept:` and the layer's name, its weight count in
/// `weights`).
pub fn to_prune_csv(runs: &[Run]) -> String {
    use crate::vocab::Named;
    let mut header = knob_header(runs);
    header.extend(strings(["method", "sparsity", "val_loss", "weights"]));
    let mut rows = vec![header];
    for (i, run) in runs.iter().enumerate() {
        let Some(p) = run.pruned() else { continue };
        for (m, losses) in &p.curves {
            for (level, loss) in p.levels.iter().zip(losses) {
                let mut row = knob_row(i, run);
                row.extend([
                    m.key().to_string(),
                    level.to_string(),
                    cell(Some(*loss)),
                    String::new(),
                ]);
                rows.push(row);
            }
        }
        for l in &p.layers {
            for (level, kept) in p.levels.iter().zip(&l.kept) {
                let mut row = knob_row(i, run);
                row.extend([
                    format!("kept:{}", l.name),
                    level.to_string(),
                    kept.to_string(),
                    l.size.to_string(),
                ]);
                rows.push(row);
            }
        }
    }
    csv_text(rows)
}

/// JSON of all runs: each run's link (its full config), swept values, status, summary and every
/// step. Non-finite losses are written as `null`.
pub fn to_json(runs: &[Run]) -> String {
    use serde_json::{Value, json};
    let num = |v: Option<f32>| v.map_or(Value::Null, |x| json!(x));
    let list: Vec<Value> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let knobs: serde_json::Map<String, Value> =
                r.knobs.iter().map(|(k, v)| (k.name.to_string(), json!(v))).collect();
            let steps: Vec<Value> = r
                .reports
                .iter()
                .map(|s| {
                    let mut o = json!({"step": s.step, "train_loss": num(Some(s.train_loss)), "val_loss": num(s.val_loss)});
                    if let Some(c) = &s.coord {
                        o["coord_mean_abs"] = json!(c.iter().map(|&v| num(Some(v))).collect::<Vec<_>>());
                    }
                    // A classification task's validation accuracy, at evaluations.
                    if let Some(a) = s.val_acc {
                        o["val_acc"] = num(Some(a));
                    }
                    // The noise scale's squared gradient norms and their batch sizes.
                    if let Some(g) = s.gns {
                        o["grad_sq"] = json!({"small": num(Some(g.small)), "big": num(Some(g.big)), "b_small": g.b_small, "b_big": g.b_big});
                    }
                    // Matrix sensing: M's singular values, largest first.
                    if let Some(sv) = &s.singular {
                        o["singular_values"] = json!(sv.iter().map(|&v| num(Some(v))).collect::<Vec<_>>());
                    }
                    o
                })
                .collect();
            json!({
                "run": i,
                "link": crate::link::url::experiment_query(&r.config),
                "label": r.label(),
                "knobs": knobs, // not a link key: the export's field of swept values
                "diverged": r.diverged,
                "final_train_loss": num(r.final_train_loss()),
                "final_val_loss": num(r.final_val_loss()),
                "final_val_acc": num(r.final_val_acc()),
                "noise_scale": r.noise_scale().last().map_or(Value::Null, |&(_, _, b)| json!(b)),
                "best_val_loss": num(r.best_val_loss()),
                // PTQ's validation loss with the weights rounded (null for a run that does not
                // round them after training).
                "quant_val_loss": num(r.quant_val_loss()),
                // Pruning: each method's validation loss at each sparsity, and each layer's
                // share kept by global magnitude pruning (null for a run that does not prune).
                "pruning": r.pruned().map_or(Value::Null, |p| json!({
                    "sparsity": p.levels,
                    "val_loss": p.curves.iter().map(|(m, c)| {
                        use crate::vocab::Named;
                        (m.key().to_string(), json!(c.iter().map(|&v| num(Some(v))).collect::<Vec<_>>()))
                    }).collect::<serde_json::Map<String, Value>>(),
                    "kept": p.layers.iter().map(|l| (l.name.clone(), json!(l.kept))).collect::<serde_json::Map<String, Value>>(),
                })),
                "steps": steps, // not a link key: the export's field of reports
            })
        })
        .collect();
    serde_json::to_string_pretty(&Value::Array(list)).unwrap_or_else(|_| "[]".into())
}
