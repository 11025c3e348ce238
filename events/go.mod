module github.com/rosterhq/roster/events

go 1.26
