module leakbench/fixtures

go 1.26
