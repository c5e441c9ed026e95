//! The gallery: experiments from docs/EXPERIMENTS.md as ordinary links. Opening one runs it; editing a knob
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
        id: "e4",
        title: "E4 · Width transfer: standard parameterization vs μP",
        claim: "Under μP the best learning rate stays put as the MLP widens, and wider is better; under SP \
                with Adam it slides to smaller rates (Tensor Programs V, Yang et al. 2022).",
        query: "task=digits&bs=128&steps=40&rzero=1&metric=best\
                &sweep=lr:2^-14..2^-2*2;w:64,128,256,512,1024;param:sp,mup",
        expect: "SP's optimum moves from 2^-7 at width 64 to 2^-12 at 1024; μP's stays at 2^-6 from 64 to 512 \
                 and 2^-5 at 1024 (a flat valley: 2^-7 … 2^-5 within 0.03), and its best loss falls with width \
                 (0.32 → 0.21). Plotted: the best validation loss, because a wide MLP memorises the 256 training \
                 digits within a few epochs.",
    },
    Preset {
        id: "e4-coord",
        title: "E4 · Coordinate check",
        claim: "After a few Adam steps, SP's hidden and output activations grow with width; μP's do not \
                (Tensor Programs V, the `mup` package's coord check).",
        query: "task=digits&steps=5&lr=0.01&coord=5&rzero=1&sweep=w:64,128,256,512,1024;param:sp,mup",
        expect: "SP row: after step 1 the readout's mean |output| is about 80× larger at width 1024 than at 64 \
                 and the hidden layers' 4–15× (the widest SP run blows up after step 2); μP row: every line is flat.",
    },
    Preset {
        id: "e5",
        title: "E5 · Depth transfer with 1/√L residual branches",
        claim: "With residual branches scaled by 1/√L, a learning rate tuned at one depth works at others; \
                with branch × 1 deep stacks need ever smaller rates and still train worse \
                (Depth-μP, Tensor Programs VI, Yang et al. 2023; Bordelon et al. 2023).",
        query: "task=digits&w=128&param=mup&rzero=1&bs=128&steps=40&metric=best\
                &sweep=lr:2^-12..2^-2*2;d:2,4,8,16,32;res:1,isqrt",
        expect: "Branch × 1/√L: every depth trains to 0.20–0.26 in one shared basin (2^-9 … 2^-5) and diverges \
                 only from 2^-4. Branch × 1: the optimum slides from 2^-8 (d = 2) to 2^-12 (d = 32), where the \
                 best loss is only 0.71 and every rate from 2^-9 up diverges.",
    },
    Preset {
        id: "e6-horizon",
        title: "E6 · The best learning rate falls with the training horizon",
        claim: "Read once, with the decay stretched to each run's length, the learning rate that ends lowest falls as \
                the run gets longer, roughly as a power of the horizon, and the loss grows less sensitive to it \
                (Kaplan et al. 2020; Bjorck et al. 2024).",
        query: "task=planted&dim=32&pr=32&n=8192&bs=8&r=0&noise=0.5&sched=cosine\
                &sweep=lr:2^-12..2^-2*2;steps:30,100,300,1000;seed:1,2,3",
        expect: "Noisy linear regression (label noise 0.5, so the floor is 0.25) on 8,192 points, 8 a step: no point is \
                 read twice up to T = 1,000, a stream. In every seed the best rate is 2^-3, 2^-4, 2^-5 and 2^-7 at \
                 T = 30, 100, 300 and 1,000 (η* ∝ T^−0.8 over this range), ending at 1.05, 0.287, 0.259 and 0.252. \
                 At T = 1,000 every rate from 2^-7 to 2^-2 ends within 2.5 % of the best; at T = 100, 2^-2 costs \
                 24 % and 2^-6 four times the loss.",
    },
    Preset {
        id: "e6-noise",
        title: "E6 · The gradient noise scale as the loss falls",
        claim: "The simple noise scale B_simple = tr(Σ)/|G|² predicts the critical batch, beyond which a larger \
                batch stops saving steps, and it grows as the loss falls (McCandlish et al. 2018): later in \
                training larger batches pay.",
        query: "task=digits&w=128&d=2&bs=128&steps=600&lr=0.003&gns=1&sweep=seed:1,2,3",
        expect: "Measured each step from the batch of 128 and its first 32 (the two-batch estimator), both averaged \
                 over about 20 steps. Seeds 1, 2, 3: B_simple 68–152 at a training loss of 1, 154–415 at 0.1, \
                 167–512 at 0.01 — it grows as the loss falls, ×2–3 over two decades — then 6 k–27 k as the \
                 1,437 training digits are memorised (loss 1e-3): the true gradient vanishes, the noise does not, \
                 and past that the averaged |G|² is no longer positive and the curve ends. Whether B_simple \
                 predicts a batch sweep's knee: e6-batch and e6-batch-cond.",
    },
    Preset {
        id: "e6-batch",
        title: "E6 · Steps against batch size: the critical batch",
        claim: "Below the critical batch a batch twice as large halves the steps to a loss; above it the steps stop \
                falling and only the examples grow, S = S_min(1 + B_crit/B); the noise scale B_simple predicts \
                B_crit (McCandlish et al. 2018; Shallue et al. 2018).",
        query: "task=planted&dim=32&pr=4&noise=0.5&n=1024&stream=1&r=0&opt=sgd&steps=100&gns=1&reach=0.3\
                &sweep=bs:8,16,32,64,128,256,512;lr:2^-1..2^4*2;seed:1,2,3",
        expect: "Noisy linear regression on a stream (fresh points every step), plain SGD, each batch at its best rate, \
                 steps to a validation loss of 0.3 (floor 0.25). Isotropic inputs, where B_simple is exactly \
                 McCandlish's B_noise, with the closed form d·L/(L − σ²) + 1 = 193: B_simple measures 204 \
                 (quartiles 196–227). Steps 37, 18, 9.5 at B = 8, 16, 32 (rates 1, 2, 4: perfect scaling), \
                 then 6.2, 3.0, 2.1, 1.5 at 64–512: past B = 32 a doubling saves only 30–35 % of the steps (half \
                 once more from 64 to 128, where the best rate doubles as well), a knee at B_simple's order. The \
                 fitted B_crit (303) means little here: from B = 128 on a run takes three updates or \
                 fewer (interpolated on log loss) and S_min is under one step — the best full-batch step lands on \
                 the optimum, which the paper's model of many small steps does not describe: see e6-batch-cond.",
    },
    Preset {
        id: "e6-batch-cond",
        title: "E6 · The critical batch under ill-conditioned curvature",
        claim: "B_simple = tr(Σ)/|G|² equals the noise scale B_noise = tr(HΣ)/GᵀHG that the critical batch \
                follows only when the Hessian is a multiple of the identity; with curvature spread over many \
                scales the prediction can be far off (McCandlish et al. 2018, §2.2).",
        query: "task=planted&dim=32&pr=4&noise=0.5&n=1024&stream=1&xs=1&r=0&opt=sgd&steps=300&gns=1&reach=0.3\
                &sweep=bs:8,16,32,64,128,256,512;lr:2^-3..2^2*2;seed:1,2,3",
        expect: "As e6-batch with input variances ∝ 1/i (condition number 32). Now large batches need many steps \
                 (S_min 14) and the law fits the sweep closely: steps 62, 42, 23 at B = 8, 16, 32, then 19 → 15 \
                 from 64 to 512; B_crit 27 (seeds 22–32). B_simple at the same loss reads 244 (quartiles 147–398), \
                 9× the knee. Both grow as the target falls — B_crit 16, 20, 27, 41 and B_simple 124, 158, 244, \
                 373 at targets 0.4, 0.35, 0.3, 0.28 (reach) — but here B_simple does not predict the knee. The \
                 paper's caveats are two candidate causes this preset does not separate: B_simple equals B_noise \
                 only for curvature ∝ I, and B_crit averages the noise scale over the whole path, where it was \
                 smaller.",
    },
    Preset {
        id: "e8",
        title: "E8 · Post-training quantization: bits × scale granularity",
        claim: "Rounding trained weights to b bits costs little down to 4 bits and breaks the model below; \
                finer scales (per channel, per group) push the cliff lower (GPTQ/AWQ-style group scales).",
        query: "task=digits&w=128&d=2&bs=128&steps=300&lr=0.003&sweep=bits:2,3,4,5,6,8,32;qgran:tensor,channel,group",
        expect: "Float (dashed) 0.20. At 2 bits: per tensor 2.24, per channel 1.54, per group of 32 0.44; at 3 \
                 bits 0.26, 0.26, 0.20; from 4 bits every scale is within 0.01 of float. Storage falls from 104 kB \
                 in f32 to 14–16 kB at 4 bits.",
    },
    Preset {
        id: "e8-outlier",
        title: "E8 · One outlier channel vs per-tensor scales",
        claim: "A single large channel stretches a per-tensor scale and wastes the grid on every other weight; \
                per-channel scales do not care (LLM.int8(), Dettmers et al. 2022).",
        query: "task=digits&w=128&d=2&bs=128&steps=300&lr=0.003&bits=4&sweep=qout:1,2,4,8,16,32;qgran:tensor,channel",
        expect: "The float model is the same at every factor. INT4 per tensor: 0.21 → 0.25 at 8× → 1.54 at 16× → \
                 2.32 at 32×; per channel it stays at 0.20–0.21.",
    },
    Preset {
        id: "e8-qlora",
        title: "E8 · LoRA on a quantized base (QLoRA-style)",
        claim: "Freeze the pre-trained base at b bits and train LoRA adapters on top: from 3 bits the base costs \
                nothing; at 2 bits the adapters must repair it (QLoRA, Dettmers et al. 2023).",
        query: "task=digits&w=128&d=2&bs=128&steps=300&lr=0.003&asteps=300&qmode=qlora&sweep=bits:2,3,4,8,32;r:1,4,16",
        expect: "On the rotated digits with a float base (dashed) r = 1, 4, 16 reach 0.58, 0.25, 0.34; with a 3- or \
                 4-bit base 0.49–0.62, 0.20–0.22, 0.22–0.29; with a 2-bit base 1.11, 0.92, 0.50: more rank repairs more.",
    },
    Preset {
        id: "e9",
        title: "E9 · Quantization-aware training vs PTQ",
        claim: "Training through the rounding (fake-quant forward, straight-through gradient) loses far less at \
                low bits than rounding a float model afterwards (Jacob et al. 2018; Esser et al. 2020).",
        query: "task=digits&w=128&d=2&bs=128&steps=300&lr=0.003&sweep=bits:2,3,4,5,6,8,32;qmode:ptq,qat;seed:1,2,3",
        expect: "Averaged over 3 seeds: at 2 bits PTQ 2.27 vs QAT 0.41 (float 0.33); at 3 bits 0.40 vs 0.32; \
                 at 5 bits 0.34 vs 0.33; from 6 bits both are within 0.01 of float.",
    },
    Preset {
        id: "e10",
        title: "E10 · Intrinsic dimension: how few directions a network needs",
        claim: "Train only a random d-dimensional subspace of all the weights, θ = θ0 + P·z (Li et al. 2018): \
                accuracy climbs with d and reaches 90 % of full training's at a d_int90 far below the parameter \
                count D, and about the same d_int90 at every width, so wider networks have more redundant \
                directions (D/d_int90 grows with width).",
        query: "task=digits&d=1&bs=128&steps=500&lr=0.01&shift=none\
                &sweep=r:0,sub50,sub100,sub150,sub200,sub300,sub400,sub600,sub1000;w:16,32,64;seed:1,2,3",
        expect: "Seeds 1, 2, 3 from the initialisation (no pre-training): full training reaches 93.0, 93.5, 93.4 % \
                 at w = 16, 32, 64 (D = 1,210, 2,410, 4,810). The subspace: 58–62 % at d = 50, 74–77 % at 100, \
                 84–87 % at 200 (the 90 % line is 83.7–84.2 %), 89–91 % at 400–600. d_int90 = 200 at every width: \
                 D/d_int90 = 6, 12, 24. One learning rate for every run, 0.01: of 0.003, 0.01 and 0.03 the best for \
                 full training; for d = 100 and 300, 0.03 is within 1 % better (w = 32, seeds 1 and 2).",
    },
    Preset {
        id: "e10-ft",
        title: "E10 · Fine-tuning: subspace, LoRA and biases by the parameters they train",
        claim: "Fine-tuning to a shifted task by a random subspace of every weight, by LoRA, or by the biases alone \
                (Aghajanyan et al. 2020; BitFit): how many trained parameters each needs to reach 90 % of full \
                fine-tuning's accuracy.",
        query: "task=digits&w=64&d=1&bs=128&steps=300&asteps=300&lr=0.01&shift=rot\
                &sweep=r:0,bias,1,2,4,8,16,sub100,sub200,sub300,sub400,sub600,sub800,sub1000,sub1500,sub2000;seed:1,2,3",
        expect: "Seeds 1, 2, 3 on the rotated digits: full fine-tuning of the 4,810 parameters 93.1 % (the line \
                 at 90 % of it 83.8 %). The random subspace: 65 % at d = 200, 83 % at 400, 88 % at 600 — d_int90 = \
                 600 — and 91–92 % from 1,000. LoRA: 61 % at r = 1 (202 trained), 82 % at r = 2 (404), 87 % at r = \
                 4 (808): the line at 808. The 74 biases: 20–24 %, never near it. Here the subspace needs fewer \
                 parameters than LoRA, and more than training from scratch does (e10: 200): the rotated digits \
                 start at a loss of 12, so the pre-trained weights are a poor start and the fine-tuning's \
                 intrinsic dimension is not the small one Aghajanyan et al. find for pre-trained language models.",
    },
    Preset {
        id: "e10-wide",
        title: "E10 · The intrinsic dimension of a 70× larger network",
        claim: "The dimension a task needs barely moves with the network's size (Li et al. 2018): at 85 k parameters \
                the subspace's P is the paper's structured Fastfood map, where a dense one would exceed 16 M entries.",
        query: "task=digits&w=256&d=2&bs=128&steps=500&lr=0.01&shift=none\
                &sweep=r:0,sub100,sub200,sub300,sub400,sub600,sub1000;seed:1,2,3",
        expect: "Seeds 1, 2, 3 from the initialisation: full training of the 85,002 parameters 92.2–94.7 % (the 90 % \
                 line 84.0 %). The subspace: 72.5–74.4 % at d = 100 (a dense P, 8.5 M entries), 81.7–84.4 % at 200 and \
                 85.3–89.2 % at 300 (Fastfood from d = 200), 90.8–91.9 % at 1,000. d_int90 = 300, against 200 at \
                 1.2 k–4.8 k parameters (e10): 18–70× the parameters, 1.5× the dimension.",
    },
    Preset {
        id: "e11",
        title: "E11 · Matrix sensing: small init finds the low-rank matrix",
        claim: "Gradient descent on an over-parameterised factorisation X·Xᵀ recovers a rank-r* matrix from few \
                measurements when it starts small (Gunasekar et al. 2017; Li, Ma, Zhang 2018); over-parameterising \
                slows it to a sublinear tail (Xiong, Ding, Du 2023).",
        query: "task=sense&dim=20&pr=2&noise=0&n=200&bs=200&opt=sgd&lr=0.1&steps=3000&sweep=fk:2,4,20;finit:0.001,0.01,0.1,1",
        expect: E11_EXPECT,
    },
    Preset {
        id: "e11-asym",
        title: "E11 · Matrix sensing: X·Xᵀ against F·Gᵀ",
        claim: "Over-parameterised symmetric factors converge sublinearly; asymmetric ones F·Gᵀ converge linearly \
                again, at a rate that grows with the init scale α² (Xiong, Ding, Du 2023).",
        query: "task=sense&dim=20&pr=2&noise=0&n=400&bs=400&opt=sgd&lr=0.1&steps=10000&fk=4&sweep=fsym:1,0;finit:0.1,0.3,1",
        expect: E11_ASYM_EXPECT,
    },
    Preset {
        id: "e13",
        title: "E13 · One-shot pruning: magnitude against random",
        claim: "Cut a trained network's smallest weights and it keeps its loss until most are gone, then falls off a \
                cliff; random cuts fall at once (Han et al. 2015). One threshold over all layers cuts them unevenly \
                (Frankle & Carbin 2019's global pruning).",
        query: "task=digits&w=256&d=2&bs=128&steps=300&lr=0.003&prune=1&sweep=seed:1,2,3",
        expect: "Seeds 1, 2, 3 (84 k weights; trained 0.20–0.46): global magnitude 0.20–0.41 with half the weights \
                 cut, 0.26–0.45 at 70 %, 0.51–0.68 at 80 %, 1.51–1.56 at 90 %, 2.21 at 95 % (chance is 2.30); per layer \
                 within 0.1 of it. Random: 1.10–1.16 at 50 %, 1.97–2.09 at 70 %. At 99 % global keeps 4.8 % of the \
                 input layer, 0.1 % of the hidden one and 0.2 % of the readout (the right panel).",
    },
    Preset {
        id: "e13-ticket",
        title: "E13 · Pruned and retrained: fine-tuning against the lottery ticket",
        claim: "Cut at step 300 and train on with the mask held: from the trained weights (fine-tuning, Han et al. \
                2015) or rewound to the initial ones (the lottery ticket, Frankle & Carbin 2019), by magnitude \
                against a random mask.",
        query: "task=digits&w=256&d=2&bs=128&steps=600&lr=0.003&pat=300\
                &sweep=pkeep:0.1,0.03,0.01;pmask:global,layer,random;pfrom:trained,rewind;seed:1,2,3",
        expect: "Seeds 1, 2, 3 (dense for 600 steps: 0.21–0.49). At 10 % kept every mask and start recovers (0.17–0.40; \
                 one-shot without retraining was 1.5). At 3 %: per-layer magnitude 0.35–0.42 fine-tuned and 0.33–0.41 \
                 rewound, random 0.36–0.55, global magnitude 0.67–0.87 (it starves the hidden and readout layers). At \
                 1 % every mask fails (1.6–2.3). Rewinding gives the losses fine-tuning gives, within the seeds' spread: \
                 at this scale the ticket's advantage over fine-tuning does not appear.",
    },
    Preset {
        id: "e13-imp",
        title: "E13 · Iterative magnitude pruning",
        claim: "Cutting in rounds, each rewound to the initial weights and retrained, finds sparser networks that \
                train than one cut does (Han et al. 2015; Frankle & Carbin 2019's iterative pruning).",
        query: "task=digits&w=256&d=2&bs=128&steps=1200&lr=0.003&pat=300&pfrom=rewind\
                &sweep=pkeep:0.1,0.03,0.01;prounds:1,3;seed:1,2,3",
        expect: "Seeds 1, 2, 3, 1,200 steps each (dense: 0.23–0.54). One cut at step 300 then 900 steps of training \
                 against three cuts at steps 300, 600 and 900 (each keeping 0.1^(1/3), … of what is left): at 10 % \
                 kept 0.20–0.45 against 0.20–0.38; at 3 % 0.74–0.98 against 0.16–0.29; at 1 % 1.72–2.14 against \
                 0.38–0.42. Three rounds push the cliff past 1 %, where one cut falls off it.",
    },
    Preset {
        id: "e13-init",
        title: "E13 · Pruning at initialisation: layer collapse",
        claim: "Cut by magnitude before training, one global threshold can empty a layer, and the network cannot \
                train (Tanaka et al. 2020, SynFlow); per-layer or random masks keep every layer.",
        query: "task=digits&w=256&d=2&bs=128&steps=600&lr=0.003&pat=0&sweep=pkeep:0.1,0.03,0.01;pmask:global,layer,random;seed:1,2,3",
        expect: "Seeds 1, 2, 3, trained 600 steps after the cut (dense: 0.21–0.49). At 10 % kept all three are within \
                 the seeds' spread of dense (0.21–0.45). At 3 %: global 1.68–1.99, per layer 0.41–0.65, random \
                 0.45–0.62. At 1 % global is at chance (2.31–2.32) in every seed: the input layer's initial weights are \
                 twice the others' (1/√64 against 1/√256), so the one threshold keeps none of the readout's 2,560 weights \
                 (run task=digits&w=256&d=2&steps=1&prune=1 to see the shares); per layer 1.91–2.25, random 2.07–2.31.",
    },
    Preset {
        id: "e13-dare",
        title: "E13 · DARE: dropping most of a fine-tuned change",
        claim: "Drop each entry of the fine-tuned change Δ = θ_ft − θ_base with probability p and rescale the rest by \
                1/(1 − p): the model keeps its loss at moderate p where plain drops and magnitude pruning of Δ fail \
                (Yu et al. 2023, DARE), the more so the smaller Δ.",
        query: "task=digits&w=128&d=2&bs=128&steps=300&lr=0.003&r=0&shift=rot&prune=1&sweep=asteps:30,300;seed:1,2,3",
        expect: "Seeds 1, 2, 3, fully fine-tuned on the rotated digits for 30 or 300 steps (0.41–0.61 and 0.16–0.44). \
                 DARE at p = 0.5: 0.47–0.63 and 0.21–0.44, nearly free; at 0.7: 0.57–0.76 and 0.68–0.76; at 0.9: \
                 1.04–1.72 after 30 steps but 3.5–9.3 after 300 (the larger Δ fails first); at 0.99 it blows up \
                 (14–82). Without the rescale half of Δ dropped already costs 1.3–3.0, and magnitude pruning of Δ \
                 0.52–1.06: the 1/(1 − p) is what keeps the change.",
    },
    Preset {
        id: "e14",
        title: "E14 · A scaling law with a known answer",
        claim: "Loss falls as a power law of the parameters, L = E + A·N^(−α) (Kaplan et al. 2020; Hoffmann et al. \
                2022): here the model is a rank-r change of a teacher whose singular values fall as 4/i, so the law's \
                exponent is known (Eckart–Young: α → 1), and the fit can be checked against it.",
        query: "task=planted&dim=64&pr=64&sv=pow&n=4096&bs=256&steps=600&lr=0.003&sweep=r:1,2,4,8,16,32;seed:1,2,3",
        expect: E14_EXPECT,
    },
    Preset {
        id: "e14-digits",
        title: "E14 · Fitting a law where the data runs out",
        claim: "Fit the same law to an MLP's width sweep on 1,437 digits: with a fixed data set the loss stops \
                falling, and the fitted exponent, its interval and the extrapolation show it (Kaplan et al. 2020; \
                Besiroglu et al. 2024 on how fitting choices move the exponent).",
        query: "task=digits&d=2&bs=128&steps=300&lr=0.003&sweep=w:4,8,16,32,64,128;seed:1,2,3",
        expect: "Seeds 1, 2, 3 (each its own split): the loss falls from 0.72–1.28 at w = 4 to 0.22–0.41 at w = 32, \
                 then stops (0.18–0.38 at 64, 0.20–0.47 at 128). The fit finds the floor, E = 0.24, with α = 1.23 and \
                 a 95 % interval of 0.84–2.03; the choices move α from 0.27 (E = 0) to 1.33 (without w = 4). Fitted \
                 without w = 128 the law predicts 0.225 there; the runs measure 0.332.",
    },
    Preset {
        id: "e14-data",
        title: "E14 · Loss against data",
        claim: "The same MLP on more of the digits: the loss falls as a power of the training examples, \
                L = E + A·D^(−α) (Kaplan et al. 2020; Hoffmann et al. 2022 fit data and parameters together).",
        query: "task=digits&w=64&d=2&bs=128&steps=300&lr=0.003&sweep=n:100,200,400,800,1437;seed:1,2,3",
        expect: "Seeds 1, 2, 3: the loss falls from 0.34–0.91 at 100 examples to 0.054–0.078 at 1,437. Fitted: \
                 α = 0.76 (95 % bootstrap 0.68–1.35), E = 0; 1.10 without the smallest set. Fitted without the \
                 1,437 the law predicts 0.057 there; the runs measure 0.063: along the data the law holds and \
                 extrapolates within 10 %, where along the width (e14-digits) it stopped.",
    },
    Preset {
        id: "e14-joint",
        title: "E14 · One law of parameters and data",
        claim: "Sweep the width and the training examples together and fit L(N, D) = E + A·N^(−α) + B·D^(−β) \
                (Hoffmann et al. 2022): the floor a width sweep hits on a fixed data set is the data's term.",
        query: "task=digits&d=2&bs=128&steps=300&lr=0.003&metric=best\
                &sweep=w:8,16,32,64,128;n:100,200,400,800,1437;seed:1,2,3",
        expect: "Seeds 1, 2, 3, early-stopped (each run's lowest validation loss): from 0.82–0.90 at w = 8 on 100 \
                 examples to 0.046–0.067 at w = 128 on 1,437. Fitted through all 75 runs: α = 1.41 (95 % bootstrap \
                 1.21–1.64), β = 0.80 (0.75–0.88), E = 0: at each data size the width's gains stop at \
                 B·D^(−β), the floor e14-digits found at 1,437. The additive law misses the smallest model on little \
                 data (0.86 measured at w = 8 on 100 examples, about 0.7 fitted). Fitted without w = 128 it predicts \
                 0.052 there on 1,437 examples; the runs measure 0.054.",
    },
    Preset {
        id: "e14-text",
        title: "E14 · The char LM's loss against its width",
        claim: "A language model's loss falls as a power of its parameters, L = E + A·N^(−α), when the learning \
                rate is fair to every size: μP transfers one rate across widths (Kaplan et al. 2020; Yang et al. \
                2022).",
        query: "task=text&d=1&heads=4&ctx=32&bs=16&steps=300&param=mup&rzero=1&lr=2^-6\
                &sweep=w:16,32,64,128;seed:1,2,3",
        expect: "One block, 300 steps of 16 windows, μP with zero queries and readout at the rate gpt-width finds best \
                 at every width. Seeds 1, 2, 3: validation loss 2.55–2.57 at w = 16 (6.5 k parameters), 2.40–2.42 \
                 at 32, 2.25–2.32 at 64, 2.19–2.20 at 128 (223 k). Fitted: α = 0.35 (95 % bootstrap 0.21–0.43), \
                 E = 2.04; 0.46 without the smallest width, 0.04 with E = 0. Fitted without w = 128 the law \
                 predicts 2.173 there; the runs measure 2.197: the extrapolation is off by about 1 %. At this horizon \
                 the transfer holds to one grid step: at w = 128, 2^-7 ends 0.017 lower than 2^-6 (seed 1).",
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
        expect: "Loss falls from r = 1 to r = 4 and then flattens near 0.12, above full fine-tuning (about 0.04): \
                 a rotation is not a low-rank change of every layer.",
    },
    Preset {
        id: "gpt-grok",
        title: "Transformer · Grokking a + b mod 53",
        claim: "A one-block transformer fits the training sums long before it generalizes to the held-out \
                ones, and within 800 steps it does only with weight decay (Power et al. 2022, \"Grokking\").",
        query: "task=modadd&p=53&tfrac=0.5&w=64&d=1&heads=4&lr=0.003&bs=256&steps=800&sweep=wd:0,1&fig=seq",
        expect: GROK_EXPECT,
    },
    Preset {
        id: "gpt-width",
        title: "Transformer · Width transfer on the char LM: SP vs μP",
        claim: "Under SP with Adam the best learning rate of a transformer falls as d_model grows; under μP \
                with mup's Transformer recipe (attention 1/d_head, zero queries and readout, hidden η/m, \
                MuReadout) it stays put and wider is better (Tensor Programs V, Yang et al. 2022).",
        query: "task=text&d=1&heads=4&ctx=32&steps=100&bs=16&metric=best&rzero=1\
                &sweep=lr:2^-8..2^-4*2;w:32,64,128;param:sp,mup",
        expect: "Best learning rate (best validation loss in 100 steps; seeds 1, 2, 3): SP 2^-5 (2^-6 with seed 1), \
                 2^-6, 2^-7 at widths 32, 64, 128 — it falls by two grid steps (one with seed 1) over the 4× width; \
                 μP with mup's Transformer recipe 2^-6 at all three widths with every seed but one (seed 2 at 64: \
                 2^-7, by 0.013), and at 128 the lowest loss of all: 2.433–2.462 against SP's 2.463–2.479 (μP ahead \
                 by 0.017–0.032 with each seed; the validation loss's standard error is 0.015). At the base width 64 \
                 μP is not SP (its queries and readout start at zero): 2.508–2.536 against 2.540–2.543. At width 32 \
                 SP is ahead or level (2.607–2.635 against 2.622–2.636). One block and 100 steps keep the sweep to \
                 about 2 minutes natively.",
    },
    Preset {
        id: "gpt-lora",
        title: "Transformer · LoRA rank for relabelled answers",
        claim: "Reversing the 8 answer symbols of the copy task changes the readout by W(P − I), a rank-4 \
                change: adapters on the readout need about rank 4 to learn it (LoRA, Hu et al. 2021).",
        query: "task=copy&w=32&d=2&heads=2&ctx=16&seqlen=6&syms=8&bs=32&steps=300&asteps=300&lr=0.003\
                &shift=flip&target=readout&sweep=r:0,1,2,3,4,8",
        expect: "Validation loss after adaptation (seeds 1, 2, 3) falls with the rank — 1.48–1.75 (r = 1), \
                 0.10–0.25 (2), 0.031–0.066 (3), 0.019–0.032 (4) — and only slowly after r = 4 (0.0087–0.0102 \
                 at r = 8); full fine-tuning (r = 0, the red line) reaches 0.0026–0.0031 training all 26.6 k \
                 parameters against the adapters' 41–328.",
    },
    Preset {
        id: "gpt-bits",
        title: "Transformer · Loss against bits",
        claim: "Rounding a trained transformer's weights costs almost nothing from 4 bits on and breaks it at 2 \
                (symmetric INT2 is ternary: −1, 0, 1 × scale); one scale per output channel rescues the low \
                bit-widths (Dettmers & Zettlemoyer 2023).",
        query: "task=reverse&w=32&d=2&heads=2&ctx=8&seqlen=4&syms=6&bs=32&steps=300&lr=0.003\
                &sweep=bits:2,3,4,5,6,8,32;qgran:tensor,channel",
        expect: "Seeds 1, 2, 3: float 0.0012. 2 bits (ternary): 1.93–2.26 per tensor, 0.39–0.65 per channel; \
                 3 bits: 0.0036–0.0093 and 0.0019–0.0023; from 4 bits within 0.0004 of float. 105 kB in f32, \
                 18–19 kB at 4 bits.",
    },
    Preset {
        id: "gpt-instab",
        title: "Transformer · Attention-logit growth at a high learning rate",
        claim: "At a high learning rate a small transformer's attention logits grow a hundredfold and its loss \
                stalls; qk-layernorm holds them down, and the z-loss pulls the output log Z toward 0 \
                (Wortsman et al. 2023, \"Small-scale proxies for large-scale Transformer training instabilities\").",
        query: "task=text&w=64&d=2&heads=4&ctx=32&bs=16&steps=200&lr=0.03&sweep=qkln:0,1;zloss:0,0.001&fig=seq",
        expect: INSTAB_EXPECT,
    },
];

const E11_EXPECT: &str = "Seeds 1, 2, 3, recovery error ‖M − M*‖F/‖M*‖F after 3000 steps (n = 20, r* = 2, m = 200 \
     measurements). k = r* = 2: a straight line on the log axis to float32's floor, 1.5–2.1e-6, by step 1000 at every \
     α. Over-parameterised, the error grows with α: k = 4 ends at 2.4e-5–4.7e-4 (α = 0.001), 3.5e-4–2.4e-3 (0.01), \
     3.0–5.0e-3 (0.1), 5.9–7.6e-3 (1); k = n = 20 at 3.2–9.3e-4, 2.4–3.0e-3, 1.2–1.3e-2 and 6.8–7.3e-2, its training \
     error 4× below that at α = 1 (the 200 measurements over-fitted). After the first drop the k > r* curves bend \
     (log–log slopes between steps 1500 and 3000 of −0.1 to −0.9): a sublinear tail. Right panel: the best run's two \
     σ settle on M*'s 4 and 2; the worst run's (k = 20, α = 1) 18 extra σ fall slowly, still spread over four decades \
     up to about 0.1 at step 3000.";

const E11_ASYM_EXPECT: &str = "Seeds 1, 2, 3, k = 4, m = 400, after 10 000 steps. X·Xᵀ: a sublinear tail at every α \
     (log–log slope −0.75 to −0.95 from step 4000), ending at 0.9–1.4e-3. F·Gᵀ with α = 1: a straight line on the log \
     axis down to 5.2–7.0e-6; α = 0.3 only begins to steepen (1.8–2.2e-3, slope −1.1 to −1.4) and α = 0.1 not yet \
     (2.2–3.4e-3): the linear rate grows with α², so the small-init asymmetric runs need far more steps than these.";

const E14_EXPECT: &str = "Seeds 1, 2, 3 (4, 5, 6 alike): the final losses sit on the Eckart–Young floors: \
     0.156–0.158, 0.094–0.095, 0.052, 0.026, 0.0115–0.0117 and 0.0042–0.0044 for r = 1 … 32 (N = 128·r trainable parameters). Fitted through all six: \
     α = 1.03 (95 % bootstrap over the seeds 1.03–1.04: the seeds agree, the spectrum sets the loss), E = 0, A = 27.5; \
     the floors' own fit gives 1.06, an endless 4/i spectrum α → 1. Without the smallest rank α = 1.11. Fitted without \
     r = 32 (α = 0.94) the law predicts 6.6e-3 there; the runs measure 4.3e-3: the spectrum ends at i = 64, so the \
     largest adapter beats the law of the small ones — extrapolation fails across a change of regime. Right: the \
     compute frontier passes to ever larger ranks as compute grows.";

const GROK_EXPECT: &str = "Accuracy panel, seeds 1, 2, 3: without weight decay training accuracy reaches 100 % by \
     step 200–300 while validation stays low, 1.5–11 % at step 800 (chance is 1/53, 1.9 %); with wd = 1 training \
     reaches 100 % by step 220–260 and validation climbs later: past 50 % at step 420–590, past 99 % at 570–700, and \
     100 % at step 800 with every seed (seed 1 through two brief collapses near steps 480 and 650 that it recovers \
     from).";
const INSTAB_EXPECT: &str = "Seeds 1, 2, 3. Largest attention logit (right panel, log axis): about 5 at the start, \
     then peaks of 210–470 without qk-layernorm (240–610 with the z-loss alone) against 5–9 with it, 30× apart or \
     more with every seed; validation loss 2.65–2.70 without against 2.51–2.57 with it. The z-loss lowers the \
     final log Z from 5.5 to 4.3–4.4 (5.7 to 4.5 with qk-layernorm).";

/// The preset named `id`.
pub fn find(id: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.id.eq_ignore_ascii_case(id.trim()))
}
