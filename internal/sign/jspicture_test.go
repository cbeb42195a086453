package sign

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

type pictureCase struct {
	Key    string            `json:"key"`
	Params map[string]string `json:"params"`
	Widths []int             `json:"widths,omitempty"`
	Sizes  string            `json:"sizes,omitempty"`
	Alt    string            `json:"alt"`
}

const pictureDriver = `
import { picture } from %q;
import { createInterface } from "node:readline";
const out = [];
for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  const c = JSON.parse(line);
  try {
    out.push(JSON.stringify({ markup: picture(%q, c.key, c.params, { widths: c.widths, sizes: c.sizes, alt: c.alt }, "https://img.example.com") }));
  } catch (e) {
    out.push(JSON.stringify({ error: String(e.message || e) }));
  }
}
process.stdout.write(out.join("\n") + "\n");
`

// scripts/sign.mjs's picture() prints byte for byte the markup of the Go
// signer's Picture without an origin lookup, over generated boxes, dprs,
// fit modes, widths, sizes and alt texts that need escaping; and refuses
// what it refuses.
func TestJavaScriptPictureAgrees(t *testing.T) {
	script := signerScript(t)
	r := rand.New(rand.NewPCG(3, 4))
	fits := []string{"", "cover", "contain", "fill", "inside", "outside"}
	var cases []pictureCase
	for i := 0; i < 600; i++ {
		c := pictureCase{Key: "photos/" + []string{"cat.jpg", "a b+c.png", "Straße.webp"}[i%3], Params: map[string]string{}}
		if r.IntN(5) > 0 {
			c.Params["w"] = fmt.Sprint(1 + r.IntN(1200))
		}
		if r.IntN(2) == 0 {
			c.Params["h"] = fmt.Sprint(1 + r.IntN(900))
		}
		if r.IntN(3) == 0 {
			c.Params["dpr"] = []string{"1.5", "2", "3", "1.25"}[r.IntN(4)]
		}
		if f := fits[r.IntN(len(fits))]; f != "" {
			c.Params["fit"] = f
		}
		if r.IntN(10) == 0 {
			c.Params["fm"] = "webp" // refused: picture picks the formats
		}
		if r.IntN(3) == 0 {
			for n := 1 + r.IntN(4); n > 0; n-- {
				c.Widths = append(c.Widths, 1+r.IntN(2000))
			}
		}
		if r.IntN(4) == 0 {
			c.Sizes = "(max-width: 600px) 100vw, 50vw"
		}
		c.Alt = []string{"", "A cat", `A "cat" & <dog>'s toy`}[r.IntN(3)]
		cases = append(cases, c)
	}
	sc := runNode(t, fmt.Sprintf(pictureDriver, "file://"+script, vectorKey), cases)
	s := newSigner(t, "https://img.example.com")
	s.Limits = params.DefaultLimits
	agreed := 0
	for i := 0; sc.Scan(); i++ {
		c := cases[i]
		var js struct{ Markup, Error string }
		if err := json.Unmarshal(sc.Bytes(), &js); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		var ps []urlsig.Param
		for n, v := range c.Params {
			ps = append(ps, urlsig.Param{Name: n, Value: v})
		}
		widths := c.Widths
		if len(widths) > 0 {
			ws := make([]string, len(widths))
			for j, w := range widths {
				ws[j] = fmt.Sprint(w)
			}
			widths, _ = ParseWidths(strings.Join(ws, ",")) // as the CLI reads --widths
		}
		goMarkup, goErr := s.Picture(c.Key, ps, PictureOptions{Widths: widths, Sizes: c.Sizes, Alt: c.Alt})
		switch {
		case (goErr != nil) != (js.Error != ""):
			t.Errorf("case %d %+v: Go error %v, JS error %q", i, c, goErr, js.Error)
		case goErr == nil && goMarkup != js.Markup:
			t.Errorf("case %d %+v:\nGo %s\nJS %s", i, c, goMarkup, js.Markup)
		case goErr == nil:
			agreed++
		}
	}
	if agreed < 150 {
		t.Errorf("only %d cases made markup; the generator is too harsh", agreed)
	}
	t.Logf("%d cases, %d identical markups", len(cases), agreed)
}
