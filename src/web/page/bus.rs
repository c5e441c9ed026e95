//! The one path into the page state: `Bus::send` runs `page::update` and hands its effects to the
//! shell's executor. Handlers and the runner hold the bus; the state has one writer, `update`.

use std::cell::{OnceCell, Ref, RefCell};
use std::rc::Rc;

use crate::page::{Effect, Msg, State, update};

/// Carries out a transition's effects; told whether the page shows the new state at once (a
/// person's action) or at the next animation frame (the worker's news).
type Executor = Box<dyn Fn(&Rc<Bus>, Vec<Effect>, bool)>;

pub struct Bus {
    state: RefCell<State>,
    /// Carries out effects; installed once at start-up by the shell.
    executor: OnceCell<Executor>,
}

impl Bus {
    pub fn new() -> Rc<Self> {
        Rc::new(Self {
            state: RefCell::new(State::new()),
            executor: OnceCell::new(),
        })
    }

    /// Installs the executor (once: it holds what needs the bus itself, the worker's remote).
    pub fn install(&self, executor: Executor) {
        let _ = self.executor.set(executor);
    }

    /// Applies `msg`, then carries out what it asks for (the state is not borrowed meanwhile, so
    /// an effect may read it and a later event may send again).
    pub fn send(self: &Rc<Self>, msg: Msg) {
        let at_once = !msg.from_worker();
        let effects = update(&mut self.state.borrow_mut(), msg);
        if let Some(run) = self.executor.get() {
            run(self, effects, at_once);
        }
    }

    /// The state, to read (render, or the runner checking whether to step).
    pub fn state(&self) -> Ref<'_, State> {
        self.state.borrow()
    }
}
