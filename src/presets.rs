//! The gallery: experiments from RESEARCH.md as ordinary links. Opening one runs it; editing a knob
//! turns it into a new experiment. Each states its claim and what the live result should show,
//! measured natively with the CLI (README, "Presets") so the sentence is checked, not hoped.

/// One gallery entry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Preset {
    /// Short stable name (`tinytune --preset e1`).
    pub id: &'static str,
    pub title: &'static str,
    /// The one-line claim, with the paper it comes from.
    pub claim: &'static str,
    /// The link's query string (without `?`).
    pub query: &'static str,
    /// What the live result should show.
    pub expect: &'static str,
}

pub const PRESETS: &[Preset] = &[
    Preset {
        id: "e1",
        title: "E1 · Rank staircase",
        claim: "A rank-r adapter can learn at most the r largest directions of the change (Eckart–Young; LoRA, Hu et al. 2021).",
        query: "task=planted&n=4096&bs=256&steps=1500&lr=0.003&sweep=r:0,1,2,3,4,8,16",
        expect: "Final loss sits on the dashed floor: 0.22, 0.078, 0.016 for r = 1, 2, 3, then the noise floor 1e-4 \
                 from r = 4 = r* on, level with full fine-tuning (red), while trainable parameters keep doubling.",
    },
    Preset {
        id: "e2-std",
        title: "E2 · Scaling α/r across ranks and learning rates",
        claim: "With γ = α/r, raising the rank buys little at a fixed learning rate (rsLoRA, Kalajdzievski 2023).",
        query: "task=planted&pr=32&sv=pow&n=4096&bs=256&steps=600&scale=std&sweep=lr:2^-12..2^-4*2;r:2,8,32",
        expect: "At the smallest learning rates r = 32 is barely better than r = 8 (0.076 vs 0.082 at 2^-12); \
                 near 2^-8 every rank reaches its floor. Compare with the α/√r preset.",
    },
    Preset {
        id: "e2-rs",
        title: "E2 · Scaling α/√r across ranks and learning rates",
        claim: "With γ = α/√r, higher rank keeps helping at the same learning rate (rsLoRA, Kalajdzievski 2023).",
        query: "task=planted&pr=32&sv=pow&n=4096&bs=256&steps=600&scale=rs&sweep=lr:2^-12..2^-4*2;r:2,8,32",
        expect: "At 2^-12, r = 32 reaches 0.015 against 0.049 for r = 8 (α/r: 0.076 vs 0.082). With Adam the rule \
                 mostly moves the best learning rate; at the best one both rules reach the floor.",
    },
    Preset {
        id: "e3",
        title: "E3 · Which factor matters: A, B or both",
        claim: "Training only B (A frozen random) is nearly as good as training both; only A is worse \
                (Asymmetry in Low-Rank Adapters, Zhu et al. 2024).",
        query: "task=planted&pr=16&n=4096&bs=256&steps=1500&lr=0.01&r=8&sweep=k:2,4,8,16,32,64;train:ab,b,a",
        expect: "B only matches both factors at the noise floor for inputs in k < r = 8 dimensions (slower at k = r, \
                 where the frozen A is square and ill-conditioned); A only stays far above for every k.",
    },
    Preset {
        id: "ft-spiral",
        title: "Fine-tune a spiral to its rotation",
        claim: "Pre-train on the two spirals, then adapt to the spirals turned a quarter turn with rank-4 LoRA.",
        query: "task=spiral&steps=500&r=4&asteps=500&shift=rot",
        expect: "The loss jumps at the dashed line (the task turns), then LoRA with 1.5 k of 8.7 k parameters \
                 trainable brings it back down; the decision regions turn with the data.",
    },
    Preset {
        id: "ft-digits",
        title: "Digits: LoRA rank vs full fine-tuning",
        claim: "Adapt an MLP trained on 8×8 digits to rotated digits: how much rank does the shift need?",
        query: "task=digits&n=1437&w=128&d=2&bs=128&steps=400&lr=0.003&asteps=400&sweep=r:0,1,2,4,8,16,32",
        expect: "Loss falls from r = 1 to r = 4 and then flattens near 0.12, above full fine-tuning (about 0.05): \
                 a rotation is not a low-rank change of every layer.",
    },
];

/// The preset named `id`.
pub fn find(id: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.id.eq_ignore_ascii_case(id.trim()))
}
