-- hostile: returns a function as a result value
-- expect: eval invalid result at 'hostile.value': result contains a function value, which cannot be written
classification "hostile" {
  fr = "x", en = "x", source = "test", gives = "class",
  input = function(case)
    return function() end
  end,
  row { function(v) return true end, class = "any", fr = "x", en = "x" },
}
