//! The one path into the page state: `Bus::send` runs `page::update` and hands its effects to the
//! shell's executor. Handlers and the runner hold the bus; the state has one writer, `update`.

use std::cell::{OnceCell, Ref, RefCell};
use std::rc::Rc;

use crate::page::{Effect, Msg, State, update};

type Executor = Box<dyn Fn(&Rc<Bus>, Vec<Effect>)>;

pub struct Bus {
    state: RefCell<State>,
    /// Carries out effects; installed once at start-up (the shell, which also starts runners,
    /// so the runner depends on the bus and not on the shell).
    executor: OnceCell<Executor>,
}

impl Bus {
    pub fn new(executor: Executor) -> Rc<Self> {
        let bus = Rc::new(Self {
            state: RefCell::new(State::new()),
            executor: OnceCell::new(),
        });
        let _ = bus.executor.set(executor);
        bus
    }

    /// Applies `msg`, then carries out what it asks for (the state is not borrowed meanwhile, so
    /// an effect may read it and a later event may send again).
    pub fn send(self: &Rc<Self>, msg: Msg) {
        let effects = update(&mut self.state.borrow_mut(), msg);
        if let Some(run) = self.executor.get() {
            run(self, effects);
        }
    }

    /// The state, to read (render, or the runner checking whether to step).
    pub fn state(&self) -> Ref<'_, State> {
        self.state.borrow()
    }
}
