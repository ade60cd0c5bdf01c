#!/usr/bin/perl -p
# ceiling_purchase.sql → the pgbench script for one batch size (BATCH in the environment).
# Batch 1: ARRAY[x], like segmentd's one-element array literals. Larger batches: immutable helpers
# (bench.seq_text, bench.seq_int8) and array_fill, which the planner folds into constant arrays as
# it does segmentd's array parameters — so it plans for B rows, not the 10 it assumes for an
# ARRAY(SELECT …) it cannot evaluate, and picks the same plans as for segmentd's statements.
BEGIN { $single = $ENV{BATCH} == 1 }
s{ARRAY\(SELECT (.*?) FROM generate_series\(0, :last\) g\)::(\w+)\[\]}{
    my ($x, $t) = ($1, $2);
    if ($single) { $x =~ s/ \+ g\b//g; "ARRAY[$x]::${t}[]" }
    elsif ($x =~ /^\((:\w+)::bigint \+ g\)::text$/) { "bench.seq_text($1::bigint, :batch::int)" }
    elsif ($x =~ /^(:\w+)::bigint \+ g$/) { "bench.seq_int8($1::bigint, :batch::int)" }
    else { "array_fill(($x)::$t, ARRAY[:batch::int])" }
}ge;
