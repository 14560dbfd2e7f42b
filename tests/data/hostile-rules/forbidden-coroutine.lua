-- hostile: reads the forbidden global 'coroutine'
-- expect: load {dir}/hostile.lua:3: error: undefined global 'coroutine'
local x = coroutine
