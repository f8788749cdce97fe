package main

import (
	"fmt"
	"go/ast"
	"go/doc/comment"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
)

// This file reads facts from Go source rather than from compiled packages:
// the comments on config fields, the exit code constants of a main package
// (which cannot be imported), and package doc comments.

// A configKey is one key of a YAML or JSON document, read from the struct
// tags of the Go type that holds it (host.Config, host.Result).
type configKey struct {
	Path string // dotted path, e.g. "sources[].name"
	Type string // "string", "list of strings", "object", ...
	Doc  string // the field's comment, or its type's
}

// configKeys walks the struct named root in the Go file at path and returns
// every field with a tag key (yaml or json), depth first, in source order.
// fallback gives text for fields that have no comment, by path.
func configKeys(path, root, key string, fallback map[string]string) ([]configKey, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("config keys: %w", err)
	}
	structs := map[string]*ast.StructType{}
	docs := map[string]string{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.TYPE {
			continue
		}
		for _, sp := range gd.Specs {
			ts := sp.(*ast.TypeSpec)
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				continue
			}
			structs[ts.Name.Name] = st
			d := ts.Doc
			if d == nil {
				d = gd.Doc
			}
			docs[ts.Name.Name] = typeSentence(ts.Name.Name, d.Text())
		}
	}
	st, ok := structs[root]
	if !ok {
		return nil, fmt.Errorf("config keys: %s: no struct %s", path, root)
	}
	var out []configKey
	var walk func(st *ast.StructType, prefix string, seen map[string]bool) error
	walk = func(st *ast.StructType, prefix string, seen map[string]bool) error {
		for _, fd := range st.Fields.List {
			if fd.Tag == nil || len(fd.Names) == 0 {
				continue
			}
			tag, err := strconv.Unquote(fd.Tag.Value)
			if err != nil {
				return fmt.Errorf("config keys: %s: tag %s: %w", path, fd.Tag.Value, err)
			}
			name, _, _ := strings.Cut(reflect.StructTag(tag).Get(key), ",")
			if name == "" || name == "-" {
				continue
			}
			typ, elem, list := goType(fd.Type, structs)
			doc := typeSentence(fd.Names[0].Name, fd.Comment.Text()+fd.Doc.Text())
			p := prefix + name
			if doc == "" {
				doc = fallback[p]
			}
			if doc == "" && elem != "" {
				doc = docs[elem]
			}
			out = append(out, configKey{Path: p, Type: typ, Doc: strings.Join(strings.Fields(doc), " ")})
			if elem == "" || seen[elem] {
				continue
			}
			if list {
				p += "[]"
			}
			seen[elem] = true
			if err := walk(structs[elem], p+".", seen); err != nil {
				return err
			}
			delete(seen, elem)
		}
		return nil
	}
	if err := walk(st, "", map[string]bool{root: true}); err != nil {
		return nil, err
	}
	return out, nil
}

// goType describes a field type for people writing YAML. elem names the
// struct (of this file) the field holds, directly or as a list.
func goType(e ast.Expr, structs map[string]*ast.StructType) (desc, elem string, list bool) {
	switch t := e.(type) {
	case *ast.Ident:
		if _, ok := structs[t.Name]; ok {
			return "object", t.Name, false
		}
		switch t.Name {
		case "string":
			return "string", "", false
		case "bool":
			return "boolean", "", false
		case "int", "int64", "int32", "uint", "uint64":
			return "integer", "", false
		case "float64", "float32":
			return "number", "", false
		}
		return t.Name, "", false
	case *ast.ArrayType:
		d, el, _ := goType(t.Elt, structs)
		if el != "" {
			return "list of objects", el, true
		}
		return "list of " + d + "s", "", false
	case *ast.MapType:
		return "object", "", false
	case *ast.StarExpr:
		return goType(t.X, structs)
	case *ast.SelectorExpr:
		name := t.Sel.Name
		if pkg, ok := t.X.(*ast.Ident); ok {
			name = pkg.Name + "." + name
		}
		switch name {
		case "time.Time":
			return "time (RFC 3339)", "", false
		case "time.Duration":
			return "duration", "", false
		case "json.RawMessage":
			return "JSON", "", false
		}
		return t.Sel.Name, "", false
	}
	return fmt.Sprintf("%T", e), "", false
}

// typeSentence turns the doc comment of a type or field ("Destination
// says where ...") into a phrase for a table ("says where ...") by dropping
// the leading name. Only the first paragraph is kept.
func typeSentence(name, doc string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(doc), "\n\n")
	first = strings.Join(strings.Fields(first), " ")
	if rest, ok := strings.CutPrefix(first, name+" "); ok {
		first = rest
	}
	return first
}

// aboutText turns a connector's package doc into an intro paragraph:
// "Package tracktik is the Quiver connector for X" becomes "The Quiver
// connector for X".
func aboutText(pkg, doc string) string {
	if rest, ok := strings.CutPrefix(doc, "Package "+pkg+" is "); ok && rest != "" {
		doc = strings.ToUpper(rest[:1]) + rest[1:]
	}
	return doc
}

// A constant is one constant of a const block.
type constant struct {
	Name  string
	Value string // the literal as written, unquoted if a string
	Doc   string // trailing or leading comment
}

// constants returns the constants of the Go file at path whose name has
// prefix, or whose declared type is typ when typ is not empty. Values must
// be literals.
func constants(path, prefix, typ string) ([]constant, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("constants: %w", err)
	}
	var out []constant
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, sp := range gd.Specs {
			vs := sp.(*ast.ValueSpec)
			if typ != "" {
				id, ok := vs.Type.(*ast.Ident)
				if !ok || id.Name != typ {
					continue
				}
			}
			for i, n := range vs.Names {
				if !strings.HasPrefix(n.Name, prefix) || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok {
					return nil, fmt.Errorf("constants: %s: %s is not a literal", filepath.Base(path), n.Name)
				}
				v := lit.Value
				if lit.Kind == token.STRING {
					if v, err = strconv.Unquote(v); err != nil {
						return nil, fmt.Errorf("constants: %s: %s: %w", filepath.Base(path), n.Name, err)
					}
				}
				doc := strings.TrimSpace(vs.Comment.Text() + vs.Doc.Text())
				out = append(out, constant{Name: n.Name, Value: v, Doc: strings.Join(strings.Fields(doc), " ")})
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("constants: %s: none named %s* of type %q", path, prefix, typ)
	}
	return out, nil
}

// packageDoc returns the package doc comment of the Go package in dir as
// Markdown; its headings become level 3.
func packageDoc(dir string) (string, error) {
	pkgs, err := parser.ParseDir(token.NewFileSet(), dir, nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		return "", fmt.Errorf("package doc of %s: %w", dir, err)
	}
	var text string
	for name, p := range pkgs {
		if strings.HasSuffix(name, "_test") {
			continue
		}
		for _, f := range p.Files {
			if f.Doc != nil && len(f.Doc.Text()) > len(text) {
				text = f.Doc.Text()
			}
		}
	}
	if text == "" {
		return "", nil
	}
	var p comment.Parser
	pr := comment.Printer{HeadingLevel: 3}
	return strings.TrimSpace(string(pr.Markdown(p.Parse(text)))), nil
}
