module github.com/pbts/pbts

go 1.26
