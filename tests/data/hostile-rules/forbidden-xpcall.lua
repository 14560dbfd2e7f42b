-- hostile: reads the forbidden global 'xpcall'
-- expect: load {dir}/hostile.lua:3: error: undefined global 'xpcall'
local x = xpcall
