//! Compact letter display: means that share a letter do not differ significantly.
//!
//! The insert-absorb algorithm (Piepho 2004, Journal of Computational and Graphical
//! Statistics 13, 456–466) with the sweep of redundant letters, exactly as multcomp 1.4
//! implements it in `cld()` (`insert_absorb`, `sweepLetters`, `get_letters`): the
//! significant pairs are inserted in the order of the comparisons (`B − A`, `C − A`, …,
//! `C − B`, … as `contrMat(type = "Tukey")` lists them), columns are absorbed as they
//! become redundant, then ordered by their number of members and swept twice, and named
//! `a`…`z`, `A`…`Z`, `.a`, … in the order of their first level.

/// The letters of `n` levels (in their natural order) given the significant pairs
/// `(i, j)`, i < j, in the order of the comparisons.
pub fn compact_letters(n: usize, significant: &[(usize, usize)]) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    // Columns of a level × letter matrix.
    let mut cols: Vec<Vec<bool>> = vec![vec![true; n]];
    for &(i, j) in significant {
        if i >= n || j >= n || i == j {
            continue;
        }
        // multcomp: tmpcomp = (level j, level i).
        let (first, second) = (j, i);
        let shared: Vec<usize> = (0..cols.len())
            .filter(|&c| cols[c][first] && cols[c][second])
            .collect();
        if shared.is_empty() {
            continue;
        }
        let mut added: Vec<Vec<bool>> = shared.iter().map(|&c| cols[c].clone()).collect();
        for col in &mut added {
            col[second] = false;
        }
        for &c in &shared {
            cols[c][first] = false;
        }
        cols.extend(added);
        if cols.len() > 1 {
            absorb(&mut cols);
        }
    }
    for _ in 0..2 {
        order_by_size(&mut cols);
        cols = sweep(cols);
        order_by_first(&mut cols);
    }
    (0..n)
        .map(|r| {
            cols.iter()
                .enumerate()
                .filter(|(_, c)| c[r])
                .map(|(k, _)| letter(k))
                .collect::<String>()
        })
        .collect()
}

/// The `k`-th letter: `a`…`z`, `A`…`Z`, then `.a`, … (multcomp's `get_letters`).
fn letter(k: usize) -> String {
    const LETTERS: &[u8; 52] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut s = ".".repeat(k / 52);
    s.push(char::from(LETTERS[k % 52]));
    s
}

/// Removes a column whose members all belong to another column, repeatedly (multcomp's
/// `absorb`: the later of a pair first, then the earlier).
fn absorb(cols: &mut Vec<Vec<bool>>) {
    'again: loop {
        for j in 0..cols.len().saturating_sub(1) {
            for k in j + 1..cols.len() {
                if subset(&cols[k], &cols[j]) {
                    cols.remove(k);
                    continue 'again;
                }
                if subset(&cols[j], &cols[k]) {
                    cols.remove(j);
                    continue 'again;
                }
            }
        }
        return;
    }
}

/// Whether every member of `a` is a member of `b`.
fn subset(a: &[bool], b: &[bool]) -> bool {
    a.iter().zip(b).all(|(&x, &y)| !x || y)
}

/// Columns by increasing number of members (stable, as R's `order`).
fn order_by_size(cols: &mut [Vec<bool>]) {
    cols.sort_by_key(|c| c.iter().filter(|&&x| x).count());
}

/// Columns by the first level that holds them (stable, as R's `sort`).
fn order_by_first(cols: &mut [Vec<bool>]) {
    cols.sort_by_key(|c| c.iter().position(|&x| x).unwrap_or(usize::MAX));
}

/// multcomp's `sweepLetters`: removes a level from a letter when every other member of
/// that letter shares another letter with it, and drops letters left empty.
fn sweep(mut mat: Vec<Vec<bool>>) -> Vec<Vec<bool>> {
    'restart: loop {
        let ncol = mat.len();
        let Some(nrow) = mat.first().map(Vec::len) else {
            return mat;
        };
        let mut locked = vec![vec![false; nrow]; ncol];
        for i in 0..ncol {
            // `tmp`: the rows that hold letter i, as they are when the column starts.
            let one: Vec<usize> = (0..nrow).filter(|&r| mat[i][r]).collect();
            let tmp: Vec<Vec<bool>> = (0..ncol)
                .map(|c| (0..nrow).map(|r| mat[i][r] && mat[c][r]).collect())
                .collect();
            let every_row_elsewhere = (0..nrow).all(|r| (0..ncol).any(|c| c != i && tmp[c][r]));
            if every_row_elsewhere {
                continue;
            }
            for &j in &one {
                if locked[i][j] {
                    continue;
                }
                let mut locks = Vec::new();
                for &k in &one {
                    if j == k {
                        continue;
                    }
                    // The last other letter rows j and k share.
                    if let Some(hit) = (0..ncol).rev().find(|&c| c != i && tmp[c][j] && tmp[c][k]) {
                        locks.push((j, k, hit));
                    }
                }
                if !locks.is_empty() && locks.len() == one.len() - 1 {
                    for (j, k, hit) in locks {
                        locked[hit][j] = true;
                        locked[hit][k] = true;
                    }
                    mat[i][j] = false;
                }
            }
            if mat[i].iter().all(|&x| !x) {
                mat.remove(i);
                continue 'restart;
            }
        }
        mat.retain(|c| c.iter().any(|&x| x));
        return mat;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_significant_is_one_letter() {
        assert_eq!(compact_letters(3, &[]), vec!["a", "a", "a"]);
    }

    #[test]
    fn a_chain_of_three() {
        // A-C significant only: A and B share, B and C share.
        assert_eq!(compact_letters(3, &[(0, 2)]), vec!["a", "ab", "b"]);
    }

    #[test]
    fn all_different() {
        let l = compact_letters(3, &[(0, 1), (0, 2), (1, 2)]);
        assert_eq!(l, vec!["a", "b", "c"]);
    }

    #[test]
    fn letters_beyond_fifty_two() {
        assert_eq!(letter(0), "a");
        assert_eq!(letter(51), "Z");
        assert_eq!(letter(52), ".a");
    }
}
