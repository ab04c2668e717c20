module zerotrace.test/bench

go 1.19
