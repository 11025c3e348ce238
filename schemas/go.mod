module github.com/rosterhq/roster/schemas

go 1.26
