;; The tokenizer's hot loop (segment-scan.ts): where segments end and where their elements split, found
;; 16 bytes at a time. Built into scan-wasm.ts by scripts/build-wasm.mjs; a test fails when that is stale.
;;
;; Why WebAssembly: the loop looks at every byte of a file. As JavaScript it ran at ~2.3 ns a byte once
;; optimized, and for the first thousands of segments it ran interpreted, far slower; here a block of 16
;; bytes is compared with SIMD in a few instructions, compiled before the first byte is read.
;;
;; scan(base, from, len, term, sep, comp, rep, outWords, line, lineStart, lfAfterCr, stopAfterSt) -> records
;;   Reads the input bytes memory[base + from, base + len). Skips whitespace, then cuts complete segments
;;   ending in the one-byte terminator `term`, with elements split on `sep`, and writes one record per
;;   segment from memory[0] on (at most `outWords` 32-bit words in all). Every offset is relative to
;;   `base`. `line` and `lineStart` are the line number at `from` and the offset where that line starts.
;;   A line ends at CR LF, LF or CR (the tokenizer's locate counts the same): a CR ends one, and an LF
;;   right after a CR only moves the line's start past itself. `lfAfterCr` is the offset just past the
;;   last CR the caller counted before `from` (-1: none): an LF there is the second half of that CR LF,
;;   also when the CR is no longer in the input (dropped with the text read before).
;;   A record: start, end (the terminator's offset), line, column, n | odd << 31 | long << 30, the id's
;;   code, then the offsets of the n element separators. `odd`: the segment holds a control byte, a byte
;;   past ASCII, `comp` or `rep` (Segment.plain is false). `long`: one of its values is 13 bytes or more
;;   (MIN_SLICED_LENGTH in tokenizer.ts: the tokenizer copies such a segment before cutting it). The id's
;;   code: (a << 20) | (b << 10) | c for an id of 2 or 3 bytes a, b[, c] (c = 0 for 2), else -1 (the
;;   tokenizer's idCodeAt). Pass -1 for a separator that does not exist. With `stopAfterSt`, it stops
;;   after the first ST it cuts (a tokenizer that skims some transaction sets decides at each ST).
;;   It stops before a segment it does not cut, which the tokenizer's general path reads: one starting
;;   with "ISA", one holding a line feed or carriage return, one without a terminator in the input, or one
;;   whose record does not fit in what is left of the output.
(module
  (memory (export "memory") 8)
  (func (export "scan") (param $base i32) (param $from i32) (param $len i32) (param $term i32) (param $sep i32)
        (param $comp i32) (param $rep i32) (param $outWords i32) (param $line i32) (param $lineStart i32)
        (param $lfAfterCr i32) (param $stopAfterSt i32) (result i32)
    (local $i i32) (local $c i32) (local $start i32) (local $rec i32) (local $w i32) (local $n i32)
    (local $odd i32) (local $count i32) (local $limit i32) (local $bits i32) (local $p i32)
    (local $valueStart i32) (local $longest i32) (local $idEnd i32) (local $code i32)
    (local $vterm v128) (local $vsep v128) (local $vcomp v128) (local $vrep v128) (local $v v128)
    (local.set $vterm (i8x16.splat (local.get $term)))
    (local.set $vsep (i8x16.splat (local.get $sep)))
    (local.set $vcomp (i8x16.splat (local.get $comp)))
    (local.set $vrep (i8x16.splat (local.get $rep)))
    (local.set $i (local.get $from))
    (local.set $limit (i32.shl (local.get $outWords) (i32.const 2)))
    (block $done
      (loop $segments
        ;; Whitespace between segments (as the tokenizer's isWhitespace: NUL, tab to CR, space), counting
        ;; the line breaks. A byte past space, a segment's first byte, leaves at the first test: this loop
        ;; runs for every segment, and the tests for CR and LF cost measurably when the usual byte took them.
        (block $skipped
          (loop $whitespace
            (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
            (local.set $c (i32.load8_u (i32.add (local.get $base) (local.get $i))))
            (br_if $skipped (i32.gt_u (local.get $c) (i32.const 0x20)))
            (if (i32.eq (local.get $c) (i32.const 0x0a))
              (then
                (if (i32.ne (local.get $i) (local.get $lfAfterCr))
                  (then (local.set $line (i32.add (local.get $line) (i32.const 1)))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (local.set $lineStart (local.get $i))
                (br $whitespace)))
            (if (i32.eq (local.get $c) (i32.const 0x0d))
              (then
                (local.set $line (i32.add (local.get $line) (i32.const 1)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (local.set $lineStart (local.get $i))
                (local.set $lfAfterCr (local.get $i))
                (br $whitespace)))
            (br_if $skipped (i32.eqz
              (i32.or (i32.or (i32.eq (local.get $c) (i32.const 0x20)) (i32.eqz (local.get $c)))
                      (i32.and (i32.ge_u (local.get $c) (i32.const 0x09)) (i32.le_u (local.get $c) (i32.const 0x0d))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $whitespace)))
        ;; "ISA": a new interchange, whose delimiters the general path reads.
        (br_if $done (i32.and (i32.eq (local.get $c) (i32.const 0x49))
          (i32.and (i32.lt_u (i32.add (local.get $i) (i32.const 2)) (local.get $len))
            (i32.and (i32.eq (i32.load8_u offset=1 (i32.add (local.get $base) (local.get $i))) (i32.const 0x53))
                     (i32.eq (i32.load8_u offset=2 (i32.add (local.get $base) (local.get $i))) (i32.const 0x41))))))
        (local.set $start (local.get $i))
        (local.set $rec (local.get $w))
        (local.set $w (i32.add (local.get $w) (i32.const 24)))
        (local.set $n (i32.const 0))
        (local.set $odd (i32.const 0))
        (local.set $valueStart (local.get $i))
        (local.set $longest (i32.const 0))
        (block $cut
          ;; 16 bytes at a time while a whole block is left: a bit for each byte that is a delimiter,
          ;; `comp`, `rep`, a control byte or past ASCII; the bytes between need no look.
          (block $tail
            (loop $blocks
              (br_if $tail (i32.gt_u (i32.add (local.get $i) (i32.const 16)) (local.get $len)))
              (local.set $v (v128.load (i32.add (local.get $base) (local.get $i))))
              (local.set $bits (i8x16.bitmask
                (v128.or
                  (v128.or (v128.or (i8x16.eq (local.get $v) (local.get $vterm)) (i8x16.eq (local.get $v) (local.get $vsep)))
                           (v128.or (i8x16.eq (local.get $v) (local.get $vcomp)) (i8x16.eq (local.get $v) (local.get $vrep))))
                  (v128.or (i8x16.lt_u (local.get $v) (v128.const i8x16 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20))
                           (i8x16.gt_u (local.get $v) (v128.const i8x16 0x7e 0x7e 0x7e 0x7e 0x7e 0x7e 0x7e 0x7e 0x7e 0x7e 0x7e 0x7e 0x7e 0x7e 0x7e 0x7e))))))
              (block $blockDone
                (loop $eachBit
                  (br_if $blockDone (i32.eqz (local.get $bits)))
                  (local.set $p (i32.add (local.get $i) (i32.ctz (local.get $bits))))
                  (local.set $bits (i32.and (local.get $bits) (i32.sub (local.get $bits) (i32.const 1))))
                  (local.set $c (i32.load8_u (i32.add (local.get $base) (local.get $p))))
                  (if (i32.eq (local.get $c) (local.get $term)) (then (local.set $i (local.get $p)) (br $cut)))
                  (if (i32.eq (local.get $c) (local.get $sep))
                    (then
                      (br_if $done (i32.ge_u (local.get $w) (local.get $limit)))
                      (i32.store (local.get $w) (local.get $p))
                      (local.set $w (i32.add (local.get $w) (i32.const 4)))
                      (local.set $n (i32.add (local.get $n) (i32.const 1)))
                      (if (i32.gt_u (i32.sub (local.get $p) (local.get $valueStart)) (local.get $longest))
                        (then (local.set $longest (i32.sub (local.get $p) (local.get $valueStart)))))
                      (local.set $valueStart (i32.add (local.get $p) (i32.const 1))))
                    (else
                      (br_if $done (i32.or (i32.eq (local.get $c) (i32.const 0x0a)) (i32.eq (local.get $c) (i32.const 0x0d))))
                      (local.set $odd (i32.const 1))))
                  (br $eachBit)))
              (local.set $i (i32.add (local.get $i) (i32.const 16)))
              (br $blocks)))
          ;; The last bytes of the input, one at a time (the same tests in the same order).
          (loop $bytes
            (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
            (local.set $c (i32.load8_u (i32.add (local.get $base) (local.get $i))))
            (br_if $cut (i32.eq (local.get $c) (local.get $term)))
            (if (i32.eq (local.get $c) (local.get $sep))
              (then
                (br_if $done (i32.ge_u (local.get $w) (local.get $limit)))
                (i32.store (local.get $w) (local.get $i))
                (local.set $w (i32.add (local.get $w) (i32.const 4)))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))
                (if (i32.gt_u (i32.sub (local.get $i) (local.get $valueStart)) (local.get $longest))
                  (then (local.set $longest (i32.sub (local.get $i) (local.get $valueStart)))))
                (local.set $valueStart (i32.add (local.get $i) (i32.const 1))))
              (else
                (if (i32.ge_u (i32.sub (local.get $c) (i32.const 0x20)) (i32.const 0x5f))
                  (then
                    (br_if $done (i32.or (i32.eq (local.get $c) (i32.const 0x0a)) (i32.eq (local.get $c) (i32.const 0x0d))))
                    (local.set $odd (i32.const 1)))
                  (else
                    (if (i32.or (i32.eq (local.get $c) (local.get $comp)) (i32.eq (local.get $c) (local.get $rep)))
                      (then (local.set $odd (i32.const 1))))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $bytes)))
        ;; The terminator is at $i: the record, if its header fits.
        (br_if $done (i32.gt_u (local.get $w) (local.get $limit)))
        (if (i32.gt_u (i32.sub (local.get $i) (local.get $valueStart)) (local.get $longest))
          (then (local.set $longest (i32.sub (local.get $i) (local.get $valueStart)))))
        ;; The id: up to the first separator, or the whole segment.
        (local.set $idEnd (if (result i32) (local.get $n) (then (i32.load offset=24 (local.get $rec))) (else (local.get $i))))
        (local.set $code (i32.const -1))
        (if (i32.eq (i32.sub (local.get $idEnd) (local.get $start)) (i32.const 2))
          (then (local.set $code (i32.or
            (i32.shl (i32.load8_u (i32.add (local.get $base) (local.get $start))) (i32.const 20))
            (i32.shl (i32.load8_u offset=1 (i32.add (local.get $base) (local.get $start))) (i32.const 10))))))
        (if (i32.eq (i32.sub (local.get $idEnd) (local.get $start)) (i32.const 3))
          (then
            (local.set $c (i32.load8_u offset=2 (i32.add (local.get $base) (local.get $start))))
            (if (local.get $c)
              (then (local.set $code (i32.or (i32.or
                (i32.shl (i32.load8_u (i32.add (local.get $base) (local.get $start))) (i32.const 20))
                (i32.shl (i32.load8_u offset=1 (i32.add (local.get $base) (local.get $start))) (i32.const 10)))
                (local.get $c)))))))
        (i32.store (local.get $rec) (local.get $start))
        (i32.store offset=4 (local.get $rec) (local.get $i))
        (i32.store offset=8 (local.get $rec) (local.get $line))
        (i32.store offset=12 (local.get $rec) (i32.add (i32.sub (local.get $start) (local.get $lineStart)) (i32.const 1)))
        (i32.store offset=16 (local.get $rec) (i32.or (i32.or (local.get $n) (i32.shl (local.get $odd) (i32.const 31)))
          (i32.shl (i32.ge_u (local.get $longest) (i32.const 13)) (i32.const 30))))
        (i32.store offset=20 (local.get $rec) (local.get $code))
        (local.set $count (i32.add (local.get $count) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        ;; "ST" = 0x53 << 20 | 0x54 << 10
        (br_if $done (i32.and (local.get $stopAfterSt) (i32.eq (local.get $code) (i32.const 0x5315000))))
        (br $segments)))
    (local.get $count))
)
