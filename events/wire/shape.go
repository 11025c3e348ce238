package wire

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// shape is what the pre-pass knows of a Go type: for a struct, the exact
// JSON member names it accepts; for a map, that any name is fine; for a
// slice, its element. Types that decode themselves (json.Unmarshaler,
// encoding.TextUnmarshaler) and interfaces are open: the pre-pass still
// checks syntax, duplicates and text in them, but not their names.
type shape struct {
	kind   shapeKind
	fields map[string]*field // kindStruct: exact JSON names
	names  []string          // kindStruct: the names, for "did you mean"
	elem   *shape            // kindMap, kindSlice
}

type shapeKind uint8

const (
	kindOpen shapeKind = iota // any JSON value (scalars, Unmarshalers, interfaces)
	kindStruct
	kindMap
	kindSlice
)

type field struct {
	index int // bit in the duplicate mask
	shape *shape
	typ   reflect.Type // the Go field's type, to explain a failed decode
}

var (
	shapes   sync.Map // reflect.Type -> *shape
	openType = &shape{kind: kindOpen}

	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// shapeOf returns t's shape, computed once per type.
func shapeOf(t reflect.Type) *shape {
	if s, ok := shapes.Load(t); ok {
		return s.(*shape)
	}
	s := buildShape(t, map[reflect.Type]*shape{})
	actual, _ := shapes.LoadOrStore(t, s)
	return actual.(*shape)
}

func buildShape(t reflect.Type, building map[reflect.Type]*shape) *shape {
	for t.Kind() == reflect.Pointer {
		if decodesItself(t) {
			return openType
		}
		t = t.Elem()
	}
	if decodesItself(t) {
		return openType
	}
	if s, ok := building[t]; ok {
		return s // recursive type
	}
	switch t.Kind() {
	case reflect.Struct:
		s := &shape{kind: kindStruct, fields: map[string]*field{}}
		building[t] = s
		addFields(s, t, building)
		return s
	case reflect.Map:
		s := &shape{kind: kindMap}
		building[t] = s
		s.elem = buildShape(t.Elem(), building)
		return s
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return openType // []byte is a base64 string
		}
		s := &shape{kind: kindSlice}
		building[t] = s
		s.elem = buildShape(t.Elem(), building)
		return s
	}
	return openType
}

func decodesItself(t reflect.Type) bool {
	return t.Implements(unmarshalerType) || t.Implements(textUnmarshalerType) ||
		reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) ||
		t.Kind() == reflect.Interface
}

// addFields follows encoding/json's naming: the tag's name, else the Go
// field name; untagged embedded structs lend their fields, which a field
// of the outer struct with the same name hides (the shallower one wins).
func addFields(s *shape, t reflect.Type, building map[reflect.Type]*shape) {
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				embedded = append(embedded, et)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		addField(s, name, f.Type, building)
	}
	for _, et := range embedded {
		addFields(s, et, building)
	}
}

func addField(s *shape, name string, t reflect.Type, building map[reflect.Type]*shape) {
	if _, taken := s.fields[name]; taken {
		return
	}
	s.fields[name] = &field{index: len(s.names), shape: buildShape(t, building), typ: t}
	s.names = append(s.names, name)
}
