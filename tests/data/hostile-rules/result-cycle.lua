-- hostile: returns a table that contains itself
-- expect: eval invalid result at 'hostile.value.self.self.self.self.self.self.self.self.self.self.self.self.self.self.self.self.self.self.self.self.self.self.self.self.self.self.self.self.self.self': result nested too deeply (or a table contains itself)
classification "hostile" {
  fr = "x", en = "x", source = "test", gives = "class",
  input = function(case)
    local t = {}
    t.self = t
    return t
  end,
  row { function(v) return true end, class = "any", fr = "x", en = "x" },
}
