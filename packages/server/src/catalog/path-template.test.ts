import assert from 'node:assert/strict'
import { test } from 'node:test'
import FindMyWay from 'find-my-way'
import {
  basePathProblem,
  catchAllParam,
  joinPath,
  normalizeBasePath,
  pathParams,
  pathTemplateProblem,
  toRouterPath,
} from './path-template.ts'

test('valid templates have no problem', () => {
  for (const template of [
    '/',
    '/users',
    '/users/',
    '/users/{id}',
    '/users/{id}/posts/{post_id}',
    "/a.b_c~d!e$f&g'h(i)j+k,l;m=n:o@p-q",
    '/_x/{_}',
    '/files/{*rest}',
    '/{*path}',
    '/t/{tenant}/{*rest}',
  ]) {
    assert.equal(pathTemplateProblem(template), null, template)
  }
})

test('each invalid template gets a message naming the bad part', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /must start with '\/'/],
    ['users', /must start with '\/'/],
    ['/users//x', /empty segment/],
    ['/users//', /only one trailing/],
    ['/users/{id', /segment "\{id" mixes text and braces/],
    ['/users/id}', /segment "id\}" mixes/],
    ['/files/{name}.json', /segment "\{name\}\.json" mixes/],
    ['/users/{1id}', /segment "\{1id\}" is not a valid parameter/],
    ['/users/{}', /segment "\{\}" is not a valid parameter/],
    ['/a/{id}/b/{id}', /parameter \{id\} twice/],
    ['/a b', /segment "a b" contains " "/],
    ['/a%20b', /segment "a%20b" contains "%"/],
    ['/any/*', /segment "\*" contains "\*"/],
    ['/files/{*rest}/x', /catch-all "\{\*rest\}" before its end/],
    ['/files/{*rest}/', /catch-all "\{\*rest\}" before its end/],
    ['/files/{*}', /segment "\{\*\}" is not a valid parameter/],
    ['/files/{**rest}', /segment "\{\*\*rest\}" is not a valid parameter/],
    ['/files/{rest*}', /segment "\{rest\*\}" is not a valid parameter/],
    ['/a/{rest}/{*rest}', /parameter \{rest\} twice/],
    ['/q?x=1', /contains "\?"/],
    [`/${'a'.repeat(1024)}`, /longer than 1024/],
  ]
  for (const [template, message] of cases) {
    const problem = pathTemplateProblem(template)
    assert.ok(problem, `expected a problem for ${JSON.stringify(template)}`)
    assert.match(problem, message, template)
  }
})

test('pathParams lists the parameters in order, a catch-all last', () => {
  assert.deepEqual(pathParams('/users/{id}/posts/{post_id}/'), ['id', 'post_id'])
  assert.deepEqual(pathParams('/t/{tenant}/{*rest}'), ['tenant', 'rest'])
  assert.deepEqual(pathParams('/'), [])
})

test('catchAllParam names the catch-all of a template, if any', () => {
  assert.equal(catchAllParam('/files/{*rest}'), 'rest')
  assert.equal(catchAllParam('/{*path}'), 'path')
  assert.equal(catchAllParam('/files/{rest}'), undefined)
  assert.equal(catchAllParam('/files/'), undefined)
})

test('joinPath joins base and path, handling trailing slashes and the root path', () => {
  assert.equal(joinPath('/v1', '/pets'), '/v1/pets')
  assert.equal(joinPath('/v1/', '/pets'), '/v1/pets')
  assert.equal(joinPath('', '/x'), '/x')
  assert.equal(joinPath('/', '/x'), '/x')
  assert.equal(joinPath('/v1', '/'), '/v1')
  assert.equal(joinPath('', '/'), '/')
  assert.equal(joinPath('/v1', '/pets/'), '/v1/pets/')
  assert.equal(joinPath('/t/{tenant}', '/users/{id}'), '/t/{tenant}/users/{id}')
})

test('base paths: empty or a template; one trailing slash is dropped', () => {
  assert.equal(normalizeBasePath('/v1/'), '/v1')
  assert.equal(normalizeBasePath('/'), '')
  assert.equal(basePathProblem(''), null)
  assert.equal(basePathProblem('/'), null)
  assert.equal(basePathProblem('/tenants/{tenant}'), null)
  assert.match(basePathProblem('v1') ?? '', /must start with/)
  assert.match(basePathProblem('/v1//') ?? '', /'\/\/'/)
  assert.match(basePathProblem('/files/{*rest}') ?? '', /catch-all/)
})

test('toRouterPath speaks find-my-way: {id} becomes :id, a literal colon is doubled', () => {
  assert.equal(toRouterPath('/users/{id}'), '/users/:id')
  assert.equal(toRouterPath('/users/{id}/posts/{post_id}/'), '/users/:id/posts/:post_id/')
  assert.equal(toRouterPath('/a:b/{x}'), '/a::b/:x')
  assert.equal(toRouterPath('/files/{id}/{*rest}'), '/files/:id/*')
  assert.equal(toRouterPath('/'), '/')
})

test('the router accepts every translated template and matches what the template means', () => {
  const router = FindMyWay()
  const templates = ['/users/{id}', '/users/{id}/posts/{post_id}', '/a:b/{x}', '/v1/', "/o'k(1)+,;=@~!$&"]
  for (const template of templates) router.on('GET', toRouterPath(template), () => template)
  const match = (path: string) => {
    const found = router.find('GET', path)
    return found ? { params: { ...found.params } } : null
  }
  assert.deepEqual(match('/users/42'), { params: { id: '42' } })
  assert.deepEqual(match('/users/7/posts/9'), { params: { id: '7', post_id: '9' } })
  assert.deepEqual(match('/a:b/1'), { params: { x: '1' } })
  assert.deepEqual(match('/v1/'), { params: {} })
  assert.deepEqual(match("/o'k(1)+,;=@~!$&"), { params: {} })
  assert.equal(match('/v1'), null)
})
