module zerotrace/tests/go_fanout

go 1.19
