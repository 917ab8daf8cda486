//! Symmetrization equals fast_align's `atools` on real alignments (fixtures made by
//! atools, see tests/fixtures/atools/README.md).

use std::path::Path;

use smt::align::{symmetrize, Heuristic};

fn read(name: &str) -> Vec<Vec<(u32, u32)>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/atools").join(name);
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            l.split_whitespace()
                .map(|t| {
                    let (i, j) = t.split_once('-').unwrap();
                    (i.parse().unwrap(), j.parse().unwrap())
                })
                .collect()
        })
        .collect()
}

#[test]
fn every_heuristic_matches_atools_line_by_line() {
    let fwd = read("forward.txt");
    let rev = read("reverse.txt");
    assert_eq!(fwd.len(), 100);
    for (h, name) in Heuristic::ALL {
        let expected = read(&format!("{name}.txt"));
        assert_eq!(expected.len(), fwd.len());
        for (k, ((f, r), e)) in fwd.iter().zip(&rev).zip(&expected).enumerate() {
            let mut e = e.clone();
            e.sort_unstable();
            assert_eq!(symmetrize(f, r, h), e, "{name}, line {}", k + 1);
        }
    }
}
