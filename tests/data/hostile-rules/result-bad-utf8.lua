-- hostile: returns a string that is not UTF-8
-- expect: eval invalid result at 'hostile.value': result contains a string that is not valid UTF-8
classification "hostile" {
  fr = "x", en = "x", source = "test", gives = "class",
  input = function(case)
    return 'lu\255ng'
  end,
  row { function(v) return true end, class = "any", fr = "x", en = "x" },
}
