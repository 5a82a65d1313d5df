;; Split search kernel of tree.ts: sorts a node's rows by bin on one feature and scans the
;; boundaries between bins for the best unweighted split. Works on the buffers of one
;; TreeWorkspace, which lie in the imported memory at the offsets imported as `layout`.
(module
  (import "env" "memory" (memory 1))
  ;; The byte offset of each buffer, given at instantiation by name (KERNEL_BUFFERS in
  ;; split-kernel.ts, which lays them out).
  (import "layout" "idx" (global $idx i32))               ;; i32 per row: the node's rows, node by node
  (import "layout" "binned" (global $binned i32))         ;; u8, column-major: binned[col + i]
  (import "layout" "mult" (global $mult i32))             ;; f64 per row: times drawn
  (import "layout" "labelStart" (global $labelStart i32)) ;; i32 per row + 1
  (import "layout" "labelIndex" (global $labelIndex i32)) ;; u16 per positive label
  (import "layout" "rowTotal" (global $rowTotal i32))     ;; f64 per row: Σ node total over its labels
  (import "layout" "posL" (global $posL i32))             ;; f64 per label: positives left of the boundary
  (import "layout" "nodeTotal" (global $nodeTotal i32))   ;; f64 per label: the node's positives
  (import "layout" "sortedIdx" (global $sortedIdx i32))   ;; i32 per row of a node
  (import "layout" "sortedBin" (global $sortedBin i32))   ;; u8 per row of a node
  (import "layout" "bucket" (global $bucket i32))         ;; u8 per row of a node
  (import "layout" "histC" (global $histC i32))           ;; i32 × 256, all 0 between calls
  (import "layout" "binStart" (global $binStart i32))     ;; i32 × 256
  (import "layout" "tmp" (global $tmp i32))               ;; i32 per row
  (import "layout" "fillTotal" (global $fillTotal i32))   ;; f64 per label, all 0 between calls
  (import "layout" "fillLabel" (global $fillLabel i32))   ;; i32 per label: `fill`'s labels
  (import "layout" "fillSum" (global $fillSum i32))       ;; f64 per label: `fill`'s totals
  (import "layout" "out" (global $out i32))               ;; f64 × 2: results

  ;; Rows idx[start…end) by bin of the column at `col` into sortedIdx/sortedBin; 0 when all
  ;; share one bin. Insertion sort while it moves fewer rows than a counting sort costs.
  (func (export "sort") (param $start i32) (param $end i32) (param $col i32) (result i32)
    (local $nD i32) (local $j i32) (local $b i32) (local $lo i32) (local $hi i32)
    (local $r i32) (local $i i32) (local $at i32) (local $c i32) (local $q i32)
    (local $idxBase i32) (local $bucket i32) (local $sortedBin i32) (local $sortedIdx i32)
    (local $binned i32) (local $histC i32) (local $binStart i32) (local $rb i32)
    (local.set $nD (i32.sub (local.get $end) (local.get $start)))
    (local.set $idxBase (i32.add (global.get $idx) (i32.shl (local.get $start) (i32.const 2))))
    (local.set $bucket (global.get $bucket))
    (local.set $sortedBin (global.get $sortedBin))
    (local.set $sortedIdx (global.get $sortedIdx))
    (local.set $binned (i32.add (global.get $binned) (local.get $col)))
    (local.set $histC (global.get $histC))
    (local.set $binStart (global.get $binStart))
    (local.set $lo (i32.const 255))
    (local.set $hi (i32.const 0))
    (local.set $j (i32.const 0))
    (block $g_done
      (loop $gather
        (br_if $g_done (i32.ge_s (local.get $j) (local.get $nD)))
        (local.set $b (i32.load8_u (i32.add (local.get $binned)
          (i32.load (i32.add (local.get $idxBase) (i32.shl (local.get $j) (i32.const 2)))))))
        (i32.store8 (i32.add (local.get $bucket) (local.get $j)) (local.get $b))
        (if (i32.lt_u (local.get $b) (local.get $lo)) (then (local.set $lo (local.get $b))))
        (if (i32.gt_u (local.get $b) (local.get $hi)) (then (local.set $hi (local.get $b))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $gather)))
    (if (i32.eq (local.get $lo) (local.get $hi)) (then (return (i32.const 0))))
    (if (i32.le_s
          (i32.mul (local.get $nD) (local.get $nD))
          (i32.shl (i32.add (i32.mul (local.get $nD) (i32.const 3))
                            (i32.add (i32.sub (local.get $hi) (local.get $lo)) (i32.const 1)))
                   (i32.const 2)))
      (then
        (local.set $j (i32.const 0))
        (block $i_done
          (loop $ins
            (br_if $i_done (i32.ge_s (local.get $j) (local.get $nD)))
            (local.set $b (i32.load8_u (i32.add (local.get $bucket) (local.get $j))))
            (local.set $i (i32.load (i32.add (local.get $idxBase) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $r (i32.sub (local.get $j) (i32.const 1)))
            (block $s_done
              (loop $shift
                (br_if $s_done (i32.lt_s (local.get $r) (i32.const 0)))
                (local.set $rb (i32.load8_u (i32.add (local.get $sortedBin) (local.get $r))))
                (br_if $s_done (i32.le_u (local.get $rb) (local.get $b)))
                (i32.store8 (i32.add (local.get $sortedBin) (i32.add (local.get $r) (i32.const 1))) (local.get $rb))
                (i32.store (i32.add (local.get $sortedIdx) (i32.shl (i32.add (local.get $r) (i32.const 1)) (i32.const 2)))
                  (i32.load (i32.add (local.get $sortedIdx) (i32.shl (local.get $r) (i32.const 2)))))
                (local.set $r (i32.sub (local.get $r) (i32.const 1)))
                (br $shift)))
            (i32.store8 (i32.add (local.get $sortedBin) (i32.add (local.get $r) (i32.const 1))) (local.get $b))
            (i32.store (i32.add (local.get $sortedIdx) (i32.shl (i32.add (local.get $r) (i32.const 1)) (i32.const 2)))
              (local.get $i))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $ins)))
        (return (i32.const 1))))
    ;; Counting sort: counts, then each bin's first position (counts back to 0), then scatter.
    (local.set $j (i32.const 0))
    (block $c_done
      (loop $count
        (br_if $c_done (i32.ge_s (local.get $j) (local.get $nD)))
        (local.set $c (i32.add (local.get $histC)
          (i32.shl (i32.load8_u (i32.add (local.get $bucket) (local.get $j))) (i32.const 2))))
        (i32.store (local.get $c) (i32.add (i32.load (local.get $c)) (i32.const 1)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $count)))
    (local.set $at (i32.const 0))
    (local.set $b (local.get $lo))
    (block $p_done
      (loop $prefix
        (br_if $p_done (i32.gt_u (local.get $b) (local.get $hi)))
        (local.set $c (i32.load (i32.add (local.get $histC) (i32.shl (local.get $b) (i32.const 2)))))
        (i32.store (i32.add (local.get $histC) (i32.shl (local.get $b) (i32.const 2))) (i32.const 0))
        (i32.store (i32.add (local.get $binStart) (i32.shl (local.get $b) (i32.const 2))) (local.get $at))
        (local.set $at (i32.add (local.get $at) (local.get $c)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $prefix)))
    (local.set $j (i32.const 0))
    (block $x_done
      (loop $scatter
        (br_if $x_done (i32.ge_s (local.get $j) (local.get $nD)))
        (local.set $b (i32.load8_u (i32.add (local.get $bucket) (local.get $j))))
        (local.set $c (i32.add (local.get $binStart) (i32.shl (local.get $b) (i32.const 2))))
        (local.set $q (i32.load (local.get $c)))
        (i32.store (local.get $c) (i32.add (local.get $q) (i32.const 1)))
        (i32.store (i32.add (local.get $sortedIdx) (i32.shl (local.get $q) (i32.const 2)))
          (i32.load (i32.add (local.get $idxBase) (i32.shl (local.get $j) (i32.const 2)))))
        (i32.store8 (i32.add (local.get $sortedBin) (local.get $q)) (local.get $b))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $scatter)))
    (i32.const 1))

  ;; Unweighted scan of the sorted rows (see TreeGrower.scanUnweighted): maximises
  ;; gain·nL·nR = nW·s2 + nL·(t2 − 2c) over the boundaries with at least `msl` rows on each
  ;; side. posL must be all 0. With `first`, row totals are computed from
  ;; nodeTotal into rowTotal (for every row of the node); otherwise rowTotal is read. Returns the
  ;; best threshold bin, or -1 when no boundary beats `best`; the best gain goes to out[0].
  (func (export "scan") (param $nD i32) (param $msl i32) (param $first i32) (param $clear i32)
    (param $nW f64) (param $t2 f64) (param $best f64) (result i32)
    (local $q i32) (local $lastLeft i32) (local $i i32) (local $p i32) (local $p1 i32)
    (local $a i32) (local $prev i32) (local $next i32) (local $bestBin i32)
    (local $m f64) (local $nL f64) (local $s2 f64) (local $c f64) (local $pl f64)
    (local $sumPl f64) (local $sumT f64) (local $den f64) (local $num f64)
    (local $sortedIdx i32) (local $sortedBin i32) (local $mult i32) (local $labelStart i32)
    (local $labelIndex i32) (local $rowTotal i32) (local $posL i32) (local $nodeTotal i32)
    (local.set $sortedIdx (global.get $sortedIdx))
    (local.set $sortedBin (global.get $sortedBin))
    (local.set $mult (global.get $mult))
    (local.set $labelStart (global.get $labelStart))
    (local.set $labelIndex (global.get $labelIndex))
    (local.set $rowTotal (global.get $rowTotal))
    (local.set $posL (global.get $posL))
    (local.set $nodeTotal (global.get $nodeTotal))
    (local.set $lastLeft (i32.sub (local.get $nD) (local.get $msl)))
    (local.set $bestBin (i32.const -1))
    (local.set $prev (i32.load8_u (local.get $sortedBin)))
    (local.set $q (i32.const 0))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_s (local.get $q) (local.get $lastLeft)))
        (local.set $i (i32.load (i32.add (local.get $sortedIdx) (i32.shl (local.get $q) (i32.const 2)))))
        (local.set $m (f64.load (i32.add (local.get $mult) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $nL (f64.add (local.get $nL) (local.get $m)))
        (local.set $a (i32.add (local.get $labelStart) (i32.shl (local.get $i) (i32.const 2))))
        (local.set $p (i32.load (local.get $a)))
        (local.set $p1 (i32.load offset=4 (local.get $a)))
        (local.set $s2 (f64.add (local.get $s2) (f64.mul (local.get $m) (f64.mul (local.get $m)
          (f64.convert_i32_s (i32.sub (local.get $p1) (local.get $p)))))))
        (local.set $sumPl (f64.const 0))
        (if (local.get $first)
          (then
            (local.set $sumT (f64.const 0))
            (block $l1_done
              (loop $labels1
                (br_if $l1_done (i32.ge_s (local.get $p) (local.get $p1)))
                (local.set $a (i32.shl (i32.load16_u (i32.add (local.get $labelIndex)
                  (i32.shl (local.get $p) (i32.const 1)))) (i32.const 3)))
                (local.set $sumT (f64.add (local.get $sumT)
                  (f64.load (i32.add (local.get $nodeTotal) (local.get $a)))))
                (local.set $a (i32.add (local.get $posL) (local.get $a)))
                (local.set $pl (f64.load (local.get $a)))
                (local.set $sumPl (f64.add (local.get $sumPl) (local.get $pl)))
                (f64.store (local.get $a) (f64.add (local.get $pl) (local.get $m)))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $labels1)))
            (f64.store (i32.add (local.get $rowTotal) (i32.shl (local.get $i) (i32.const 3)))
              (local.get $sumT)))
          (else
            (block $l2_done
              (loop $labels2
                (br_if $l2_done (i32.ge_s (local.get $p) (local.get $p1)))
                (local.set $a (i32.add (local.get $posL) (i32.shl (i32.load16_u (i32.add
                  (local.get $labelIndex) (i32.shl (local.get $p) (i32.const 1)))) (i32.const 3))))
                (local.set $pl (f64.load (local.get $a)))
                (local.set $sumPl (f64.add (local.get $sumPl) (local.get $pl)))
                (f64.store (local.get $a) (f64.add (local.get $pl) (local.get $m)))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $labels2)))
            (local.set $sumT (f64.load (i32.add (local.get $rowTotal)
              (i32.shl (local.get $i) (i32.const 3)))))))
        (local.set $s2 (f64.add (local.get $s2)
          (f64.mul (f64.mul (local.get $m) (f64.const 2)) (local.get $sumPl))))
        (local.set $c (f64.add (local.get $c) (f64.mul (local.get $m) (local.get $sumT))))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (local.set $next (i32.load8_u (i32.add (local.get $sortedBin) (local.get $q))))
        (if (i32.ne (local.get $next) (local.get $prev))
          (then
            (if (i32.ge_s (local.get $q) (local.get $msl))
              (then
                (local.set $den (f64.mul (local.get $nL) (f64.sub (local.get $nW) (local.get $nL))))
                (local.set $num (f64.add (f64.mul (local.get $nW) (local.get $s2))
                  (f64.mul (local.get $nL) (f64.sub (local.get $t2)
                    (f64.mul (f64.const 2) (local.get $c))))))
                (if (f64.gt (local.get $num) (f64.mul (local.get $best) (local.get $den)))
                  (then
                    (local.set $best (f64.div (local.get $num) (local.get $den)))
                    (local.set $bestBin (i32.shr_u (i32.sub (i32.add (local.get $prev)
                      (local.get $next)) (i32.const 1)) (i32.const 1)))))))
            (local.set $prev (local.get $next))))
        (br $rows)))
    ;; With `clear`, posL back to 0 for the rows added to it (else the caller clears it).
    (local.set $q (select (i32.const 0) (local.get $lastLeft) (local.get $clear)))
    (block $z_done
      (loop $zero
        (br_if $z_done (i32.ge_s (local.get $q) (local.get $lastLeft)))
        (local.set $a (i32.add (local.get $labelStart) (i32.shl
          (i32.load (i32.add (local.get $sortedIdx) (i32.shl (local.get $q) (i32.const 2))))
          (i32.const 2))))
        (local.set $p (i32.load (local.get $a)))
        (local.set $p1 (i32.load offset=4 (local.get $a)))
        (block $lz_done
          (loop $labelsZ
            (br_if $lz_done (i32.ge_s (local.get $p) (local.get $p1)))
            (f64.store (i32.add (local.get $posL) (i32.shl (i32.load16_u (i32.add
              (local.get $labelIndex) (i32.shl (local.get $p) (i32.const 1)))) (i32.const 3)))
              (f64.const 0))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $labelsZ)))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $zero)))
    (if (local.get $first)
      (then
        (local.set $q (local.get $lastLeft))
        (block $t_done
          (loop $tail
            (br_if $t_done (i32.ge_s (local.get $q) (local.get $nD)))
            (local.set $i (i32.load (i32.add (local.get $sortedIdx) (i32.shl (local.get $q) (i32.const 2)))))
            (local.set $a (i32.add (local.get $labelStart) (i32.shl (local.get $i) (i32.const 2))))
            (local.set $p (i32.load (local.get $a)))
            (local.set $p1 (i32.load offset=4 (local.get $a)))
            (local.set $sumT (f64.const 0))
            (block $l3_done
              (loop $labels3
                (br_if $l3_done (i32.ge_s (local.get $p) (local.get $p1)))
                (local.set $sumT (f64.add (local.get $sumT) (f64.load (i32.add (local.get $nodeTotal)
                  (i32.shl (i32.load16_u (i32.add (local.get $labelIndex)
                    (i32.shl (local.get $p) (i32.const 1)))) (i32.const 3))))))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $labels3)))
            (f64.store (i32.add (local.get $rowTotal) (i32.shl (local.get $i) (i32.const 3)))
              (local.get $sumT))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $tail)))))
    (f64.store (global.get $out) (local.get $best))
    (local.get $bestBin))

  ;; Stable partition of rows idx[start…end) by bin ≤ b in the column at `col`; returns where
  ;; the rows above b start.
  (func (export "partition") (param $start i32) (param $end i32) (param $col i32) (param $b i32)
    (result i32)
    (local $j i32) (local $w i32) (local $r i32) (local $i i32) (local $idx i32) (local $tmp i32)
    (local $binned i32)
    (local.set $idx (global.get $idx))
    (local.set $tmp (global.get $tmp))
    (local.set $binned (i32.add (global.get $binned) (local.get $col)))
    (local.set $j (local.get $start))
    (local.set $w (local.get $start))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_s (local.get $j) (local.get $end)))
        (local.set $i (i32.load (i32.add (local.get $idx) (i32.shl (local.get $j) (i32.const 2)))))
        (if (i32.le_u (i32.load8_u (i32.add (local.get $binned) (local.get $i))) (local.get $b))
          (then
            (i32.store (i32.add (local.get $idx) (i32.shl (local.get $w) (i32.const 2))) (local.get $i))
            (local.set $w (i32.add (local.get $w) (i32.const 1))))
          (else
            (i32.store (i32.add (local.get $tmp) (i32.shl (local.get $r) (i32.const 2))) (local.get $i))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $rows)))
    (memory.copy (i32.add (local.get $idx) (i32.shl (local.get $w) (i32.const 2)))
      (local.get $tmp) (i32.shl (local.get $r) (i32.const 2)))
    (local.get $w))

  ;; Positives per label of rows idx[start…end), weighted by `mult`: the labels that have any go
  ;; to fillLabel and their totals to fillSum, in order of first appearance; returns how many.
  ;; Their summed weight goes to out[1].
  (func (export "fill") (param $start i32) (param $end i32) (result i32)
    (local $j i32) (local $i i32) (local $p i32) (local $p1 i32) (local $a i32) (local $k i32)
    (local $nT i32) (local $m f64) (local $t f64) (local $nW f64)
    (local $idx i32) (local $mult i32) (local $labelStart i32) (local $labelIndex i32)
    (local $fillTotal i32) (local $fillLabel i32) (local $fillSum i32)
    (local.set $idx (global.get $idx))
    (local.set $mult (global.get $mult))
    (local.set $labelStart (global.get $labelStart))
    (local.set $labelIndex (global.get $labelIndex))
    (local.set $fillTotal (global.get $fillTotal))
    (local.set $fillLabel (global.get $fillLabel))
    (local.set $fillSum (global.get $fillSum))
    (local.set $j (local.get $start))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_s (local.get $j) (local.get $end)))
        (local.set $i (i32.load (i32.add (local.get $idx) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $m (f64.load (i32.add (local.get $mult) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $nW (f64.add (local.get $nW) (local.get $m)))
        (local.set $a (i32.add (local.get $labelStart) (i32.shl (local.get $i) (i32.const 2))))
        (local.set $p (i32.load (local.get $a)))
        (local.set $p1 (i32.load offset=4 (local.get $a)))
        (block $l_done
          (loop $labels
            (br_if $l_done (i32.ge_s (local.get $p) (local.get $p1)))
            (local.set $k (i32.load16_u (i32.add (local.get $labelIndex)
              (i32.shl (local.get $p) (i32.const 1)))))
            (local.set $a (i32.add (local.get $fillTotal) (i32.shl (local.get $k) (i32.const 3))))
            (local.set $t (f64.load (local.get $a)))
            (if (f64.eq (local.get $t) (f64.const 0))
              (then
                (i32.store (i32.add (local.get $fillLabel) (i32.shl (local.get $nT) (i32.const 2)))
                  (local.get $k))
                (local.set $nT (i32.add (local.get $nT) (i32.const 1)))))
            (f64.store (local.get $a) (f64.add (local.get $t) (local.get $m)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $labels)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $rows)))
    ;; The totals out in label order of fillLabel, and fillTotal back to 0.
    (local.set $j (i32.const 0))
    (block $c_done
      (loop $copy
        (br_if $c_done (i32.ge_s (local.get $j) (local.get $nT)))
        (local.set $a (i32.add (local.get $fillTotal) (i32.shl
          (i32.load (i32.add (local.get $fillLabel) (i32.shl (local.get $j) (i32.const 2))))
          (i32.const 3))))
        (f64.store (i32.add (local.get $fillSum) (i32.shl (local.get $j) (i32.const 3)))
          (f64.load (local.get $a)))
        (f64.store (local.get $a) (f64.const 0))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $copy)))
    (f64.store offset=8 (global.get $out) (local.get $nW))
    (local.get $nT))
)
