module github.com/rosterhq/roster/projections

go 1.26
