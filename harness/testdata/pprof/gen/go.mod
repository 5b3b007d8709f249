module pprofgen

go 1.26
