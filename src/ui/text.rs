//! Text that fits: widths measured with unicode-width (a CJK character takes two cells, an
//! emoji two, a combining mark none), cut with an ellipsis, padded to a column.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// `text` cut to at most `width` cells, ending in '…' when cut.
pub fn fit(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// `text` cut from the left (the end of a path matters most), to at most `width` cells.
pub fn fit_left(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut kept = Vec::new();
    let mut used = 0;
    for c in text.chars().rev() {
        let w = c.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        used += w;
        kept.push(c);
    }
    std::iter::once('…').chain(kept.into_iter().rev()).collect()
}

/// `text` fitted and padded with spaces to exactly `width` cells.
pub fn pad(text: &str, width: usize) -> String {
    let mut out = fit(text, width);
    let w = out.width();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(w)));
    out
}

/// `text` fitted and right-aligned in exactly `width` cells.
pub fn pad_left(text: &str, width: usize) -> String {
    let text = fit(text, width);
    let w = text.width();
    let mut out: String = std::iter::repeat_n(' ', width.saturating_sub(w)).collect();
    out.push_str(&text);
    out
}

/// Control characters (a Drive name may hold them) as visible symbols, never as escapes
/// sent to the terminal.
pub fn printable(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_control() {
                char::from_u32(0x2400 + (c as u32 & 0x1f)).unwrap_or('?')
            } else {
                c
            }
        })
        .collect()
}

/// "1 file", "2 files".
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

pub fn size(bytes: u64) -> String {
    humansize::format_size(bytes, humansize::BINARY.decimal_places(1))
}

pub fn duration(secs: u64) -> String {
    if secs >= 86_400 {
        format!("{}d {}h", secs / 86_400, secs / 3600 % 24)
    } else if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    } else {
        format!("{}:{:02}", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_characters_are_cut_by_cells() {
        assert_eq!(fit("議事録.txt", 6), "議事…");
        assert_eq!(fit("議事録.txt", 10), "議事録.txt");
        assert_eq!(pad("😀x", 5), "😀x  ");
        assert_eq!(pad("議事録", 5), "議事…");
        assert_eq!(pad("議事録", 5).width(), 5);
        assert_eq!(fit_left("/home/me/Photos", 8), "…/Photos");
        assert_eq!(pad_left("1 B", 5), "  1 B");
        assert_eq!(duration(75), "1:15");
        assert_eq!(duration(4_094), "1:08:14");
        assert_eq!(duration(1_865_700), "21d 14h");
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(printable("a\x1b[2Jb\n"), "a␛[2Jb␊");
    }
}
