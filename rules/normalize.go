package rules

import "github.com/mpwatch/mpwatch/rules/text"

// defaultNormalize is the engine's normaliser when EngineOptions.Normalize is
// nil: the shared one, so every rule sees the same canonical text.
var defaultNormalize = text.Normalize
