-- hostile: reads the forbidden global 'package'
-- expect: load {dir}/hostile.lua:3: error: undefined global 'package'
local x = package
