package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// A schemaKey is one key of a connector's config, read from its JSON Schema.
type schemaKey struct {
	Path        string // dotted path; list items add "[]"
	Type        string // JSON type(s), e.g. "string" or "integer"
	Required    bool
	Secret      bool   // writeOnly: give it as a ${VAR} reference
	Default     string // JSON text; "" if none
	Description string
	Rules       []string // constraints in words: "1..1000", "one of `a`, `b`", ...
}

// schemaNode is the part of a JSON Schema object that the docs show.
type schemaNode struct {
	Title       string                     `json:"title"`
	Description string                     `json:"description"`
	Type        json.RawMessage            `json:"type"`
	Properties  map[string]json.RawMessage `json:"properties"`
	Required    []string                   `json:"required"`
	Items       json.RawMessage            `json:"items"`
	Default     json.RawMessage            `json:"default"`
	Enum        []json.RawMessage          `json:"enum"`
	Const       json.RawMessage            `json:"const"`
	Pattern     string                     `json:"pattern"`
	Format      string                     `json:"format"`
	Minimum     *float64                   `json:"minimum"`
	Maximum     *float64                   `json:"maximum"`
	MinLength   *int                       `json:"minLength"`
	MaxLength   *int                       `json:"maxLength"`
	MinItems    *int                       `json:"minItems"`
	MaxItems    *int                       `json:"maxItems"`
	WriteOnly   bool                       `json:"writeOnly"`
	OneOf       []json.RawMessage          `json:"oneOf"`
	AnyOf       []json.RawMessage          `json:"anyOf"`
	Examples    []json.RawMessage          `json:"examples"`

	order []string // property names in the order of the document
}

// parseSchema reads one schema object, keeping the order of its properties.
func parseSchema(raw []byte) (*schemaNode, error) {
	var n schemaNode
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, err
	}
	if len(n.Properties) > 0 {
		var probe struct {
			Properties json.RawMessage `json:"properties"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil {
			return nil, err
		}
		order, err := objectKeys(probe.Properties)
		if err != nil {
			return nil, err
		}
		n.order = order
	}
	return &n, nil
}

// objectKeys returns the keys of a JSON object in document order.
func objectKeys(raw []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("want a JSON object")
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, t.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// configSchemaKeys flattens a connector's config schema into rows, nested
// objects and lists of objects included.
func configSchemaKeys(raw []byte) (title string, keys []schemaKey, err error) {
	root, err := parseSchema(raw)
	if err != nil {
		return "", nil, fmt.Errorf("config schema: %w", err)
	}
	var walk func(n *schemaNode, prefix string) error
	walk = func(n *schemaNode, prefix string) error {
		for _, name := range n.order {
			p, err := parseSchema(n.Properties[name])
			if err != nil {
				return fmt.Errorf("config schema: %s%s: %w", prefix, name, err)
			}
			k := schemaKey{
				Path:        prefix + name,
				Type:        jsonTypes(p),
				Required:    slices.Contains(n.Required, name),
				Secret:      p.WriteOnly,
				Default:     plainDefault(p.Default),
				Description: strings.Join(strings.Fields(p.Description), " "),
				Rules:       rules(p),
			}
			keys = append(keys, k)
			switch {
			case len(p.Properties) > 0:
				if err := walk(p, k.Path+"."); err != nil {
					return err
				}
			case len(p.Items) > 0:
				it, err := parseSchema(p.Items)
				if err != nil {
					return fmt.Errorf("config schema: %s items: %w", k.Path, err)
				}
				if len(it.Properties) > 0 {
					if err := walk(it, k.Path+"[]."); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	if err := walk(root, ""); err != nil {
		return "", nil, err
	}
	return root.Title, keys, nil
}

// jsonTypes names a schema's type; lists say what they hold.
func jsonTypes(n *schemaNode) string {
	var types []string
	if len(n.Type) > 0 {
		var one string
		if json.Unmarshal(n.Type, &one) == nil {
			types = []string{one}
		} else if err := json.Unmarshal(n.Type, &types); err != nil {
			types = []string{compact(n.Type)}
		}
	}
	for i, t := range types {
		if t == "array" && len(n.Items) > 0 {
			if it, err := parseSchema(n.Items); err == nil {
				if et := jsonTypes(it); et != "any" {
					types[i] = "list of " + plural(et)
				}
			}
		}
	}
	if len(types) > 0 {
		return strings.Join(types, " or ")
	}
	var alts []string
	for _, raw := range append(slices.Clone(n.OneOf), n.AnyOf...) {
		a, err := parseSchema(raw)
		if err != nil {
			return "any"
		}
		if t := jsonTypes(a); !slices.Contains(alts, t) {
			alts = append(alts, t)
		}
	}
	if len(alts) > 0 && !slices.Contains(alts, "any") {
		return strings.Join(alts, " or ")
	}
	return "any"
}

// plural makes each alternative of a type description plural:
// "integer or string" becomes "integers or strings".
func plural(t string) string {
	parts := strings.Split(t, " or ")
	for i, p := range parts {
		if !strings.HasPrefix(p, "list of ") {
			parts[i] = p + "s"
		}
	}
	return strings.Join(parts, " or ")
}

// rules says in words what a schema allows beyond its type.
func rules(n *schemaNode) []string {
	var out []string
	num := func(f float64) string { return strings.TrimSuffix(fmt.Sprintf("%g", f), ".0") }
	switch {
	case n.Minimum != nil && n.Maximum != nil:
		out = append(out, "From "+num(*n.Minimum)+" to "+num(*n.Maximum))
	case n.Minimum != nil:
		out = append(out, "At least "+num(*n.Minimum))
	case n.Maximum != nil:
		out = append(out, "At most "+num(*n.Maximum))
	}
	if n.MaxLength != nil {
		out = append(out, fmt.Sprintf("At most %d characters", *n.MaxLength))
	}
	if n.MinItems != nil && *n.MinItems > 0 {
		out = append(out, fmt.Sprintf("At least %d item(s)", *n.MinItems))
	}
	if n.MaxItems != nil {
		out = append(out, fmt.Sprintf("At most %d item(s)", *n.MaxItems))
	}
	if len(n.Enum) > 0 {
		var vs []string
		for _, v := range n.Enum {
			vs = append(vs, "`"+compact(v)+"`")
		}
		out = append(out, "One of "+strings.Join(vs, ", "))
	}
	if len(n.Const) > 0 {
		out = append(out, "Always `"+compact(n.Const)+"`")
	}
	if n.Pattern != "" {
		out = append(out, "Matches `"+n.Pattern+"`")
	}
	if n.Format != "" {
		out = append(out, "Format: "+n.Format)
	}
	return out
}

// plainDefault shows a default value: a string without its quotes, other
// JSON as it is.
func plainDefault(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return compact(raw)
}

// compact returns raw JSON on one line, or "" for none.
func compact(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

// exampleConfig writes a minimal YAML source config for a connector from
// its schema: required keys only, secrets as ${VAR} references named after
// the connector, other values from the schema's default or examples, or a
// placeholder. It is the fallback when examples/configs has no file.
func exampleConfig(connector string, keys []schemaKey) string {
	var b strings.Builder
	fmt.Fprintf(&b, "sources:\n  - name: %s\n    connector: %s\n    config:\n", connector, connector)
	for _, k := range keys {
		if !k.Required || strings.Contains(k.Path, ".") || strings.Contains(k.Path, "[]") {
			continue
		}
		v := "<" + k.Path + ">"
		switch {
		case k.Secret:
			v = "${" + strings.ToUpper(connector+"_"+k.Path) + "}"
		case k.Default != "":
			v = k.Default
			if _, err := strconv.ParseFloat(v, 64); err != nil && v != "true" && v != "false" {
				v = strconv.Quote(v)
			}
		}
		fmt.Fprintf(&b, "      %s: %s\n", k.Path, v)
	}
	b.WriteString("destination:\n  path: ./out\n  format: parquet\nstate: ./state\n")
	return b.String()
}
