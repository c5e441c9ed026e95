//! Which device trains a study: `auto`'s choice between the CPU and a GPU, timed on the study's
//! own steps (the page's training worker and `tinytune --backend auto` both ask it).

pub mod probe;
