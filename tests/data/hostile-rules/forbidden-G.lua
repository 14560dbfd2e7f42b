-- hostile: reads the forbidden global '_G'
-- expect: load {dir}/hostile.lua:3: error: undefined global '_G'
local x = _G
