-- hostile: backtracks exponentially in a pattern (C code no hook can stop)
-- expect: eval rule error: {dir}/hostile.lua:7: string.find: pattern too complex (more than 10000000 matching steps)
findings "hostile" {
  source = "test",
  check "x" { fr = "x", en = "x", when = function(case)
    local s = ('a'):rep(40000)
    return s:find('.-.-.-.-b') ~= nil
  end },
}
