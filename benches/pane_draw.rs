//! Drawing a pane of 100,000 entries into ratatui's TestBackend: the goal is ≤ 2 ms a
//! frame, since only the visible rows are built. Also sorting the 100,000 (done in update,
//! off the draw path) so the cost of a sort key press is known.
//! Run: cargo bench --bench pane_draw

use std::hint::black_box;
use std::path::PathBuf;

use acdc::app::keymap::Keymap;
use acdc::app::pane::Place;
use acdc::app::{App, Event, Msg, update};
use acdc::fs::{Entry, Key};
use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn entries(n: usize) -> Vec<Entry> {
    (0..n)
        .map(|i| Entry {
            // Mixed widths: ASCII, CJK and emoji names, as a real Drive has.
            name: match i % 3 {
                0 => format!("log-{i:06}.txt"),
                1 => format!("写真 {i} 東京.jpg"),
                _ => format!("🎉 party {i}.png"),
            },
            key: Key::Drive(format!("node{i}")),
            is_dir: i % 50 == 0,
            size: (i as u64 * 7919) % 10_000_000,
            modified: Some(1_500_000_000 + i as i64),
            md5: None,
        })
        .collect()
}

fn app_with(n: usize, w: u16, h: u16) -> App {
    let mut app = App::new(
        "acd",
        Place::Local(PathBuf::from("/tmp")),
        Keymap::default_map(),
        4,
    );
    update(&mut app, Msg::Resize(w, h));
    app.start();
    let listing = app.panes[1].listing;
    update(
        &mut app,
        Msg::Backend(Event::Listing {
            listing,
            entries: entries(n),
            done: true,
        }),
    );
    // Somewhere in the middle, with some selected.
    app.panes[1].cursor = n / 2;
    app.panes[1].scroll_to_cursor(40);
    app.panes[1].invert_selection();
    app
}

fn draw(c: &mut Criterion) {
    for (w, h) in [(80u16, 24u16), (200, 50)] {
        let app = app_with(100_000, w, h);
        let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test backend");
        c.bench_function(&format!("draw 100k-entry pane {w}x{h}"), |b| {
            b.iter(|| {
                terminal
                    .draw(|f| acdc::ui::draw(f, black_box(&app)))
                    .expect("draw");
            })
        });
    }
    let mut app = app_with(100_000, 200, 50);
    c.bench_function("sort 100k entries (on a key press, not per frame)", |b| {
        b.iter(|| {
            let pane = &mut app.panes[1];
            let next = pane.sort.next();
            pane.set_sort(black_box(next));
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = draw
}
criterion_main!(benches);
