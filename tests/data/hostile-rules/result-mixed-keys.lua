-- hostile: returns a table with a table as a key
-- expect: eval invalid result at 'hostile.value': result has a non-string key (a table mixing list and map entries?)
classification "hostile" {
  fr = "x", en = "x", source = "test", gives = "class",
  input = function(case)
    return { [{}] = 1 }
  end,
  row { function(v) return true end, class = "any", fr = "x", en = "x" },
}
