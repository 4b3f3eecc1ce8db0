//! Where everything goes on the screen. The app needs it (how many rows a page is, what a
//! click hit) and the drawing needs it; both take it from here so they never disagree.

use ratatui::layout::Rect;

use super::queue::Queue;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub left: Rect,
    pub right: Rect,
    pub queue: Rect,
    pub status: Rect,
    pub hint: Rect,
}

/// A collapsed queue is one summary line.
const COLLAPSED: u16 = 1;

pub fn queue_height(screen: Rect, queue: &Queue) -> u16 {
    if queue.collapsed {
        return COLLAPSED;
    }
    let automatic = (screen.height / 3).clamp(5, 14);
    // The panes keep at least 6 rows (borders, header, three entries).
    let most = screen.height.saturating_sub(2 + 6).max(COLLAPSED);
    queue.height.unwrap_or(automatic).clamp(3.min(most), most)
}

pub fn areas(screen: Rect, queue: &Queue) -> Areas {
    let q = queue_height(screen, queue);
    let panes_h = screen.height.saturating_sub(q + 2);
    let left_w = screen.width / 2;
    let row = |y: u16, h: u16| Rect::new(screen.x, screen.y + y, screen.width, h);
    Areas {
        left: Rect::new(screen.x, screen.y, left_w, panes_h),
        right: Rect::new(screen.x + left_w, screen.y, screen.width - left_w, panes_h),
        queue: row(panes_h, q.min(screen.height.saturating_sub(panes_h))),
        status: row(
            panes_h + q,
            1.min(screen.height.saturating_sub(panes_h + q)),
        ),
        hint: row(
            panes_h + q + 1,
            1.min(screen.height.saturating_sub(panes_h + q + 1)),
        ),
    }
}

/// Entry rows a pane shows: its area less two borders and the column header.
pub fn pane_rows(pane: Rect) -> usize {
    pane.height.saturating_sub(3) as usize
}

/// Job rows the queue shows: its area less two borders (totals ride on the top one) and
/// a line per running scan.
pub fn queue_rows(queue: Rect, scans: usize) -> usize {
    (queue.height.saturating_sub(2) as usize).saturating_sub(scans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_screen_is_shared_without_gaps() {
        for (w, h) in [(80, 24), (200, 50), (20, 8)] {
            let screen = Rect::new(0, 0, w, h);
            let a = areas(screen, &Queue::new(4));
            assert_eq!(a.left.width + a.right.width, w);
            assert_eq!(
                a.left.height + a.queue.height + a.status.height + a.hint.height,
                h
            );
        }
        let a = areas(Rect::new(0, 0, 80, 24), &Queue::new(4));
        assert_eq!(
            (a.left.height, a.queue.height, pane_rows(a.left)),
            (14, 8, 11)
        );
    }
}
