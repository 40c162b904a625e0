import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Metrics } from './metrics.ts'

test('gateway series: counts by status and a cumulative latency histogram per endpoint', async () => {
  const metrics = new Metrics()
  metrics.observe('hello', 200, 0.0004)
  metrics.observe('hello', 200, 0.003)
  metrics.observe('hello', 500, 40)
  metrics.observe('other', 404, 0.02)
  const text = await metrics.text()
  assert.match(text, /# TYPE edgeforge_gateway_requests_total counter/)
  assert.match(text, /^edgeforge_gateway_requests_total\{endpoint="hello",status="200"\} 2$/m)
  assert.match(text, /^edgeforge_gateway_requests_total\{endpoint="hello",status="500"\} 1$/m)
  assert.match(text, /^edgeforge_gateway_requests_total\{endpoint="other",status="404"\} 1$/m)
  assert.match(text, /# TYPE edgeforge_gateway_request_duration_seconds histogram/)
  assert.match(text, /^edgeforge_gateway_request_duration_seconds_bucket\{endpoint="hello",le="0.0005"\} 1$/m)
  assert.match(text, /^edgeforge_gateway_request_duration_seconds_bucket\{endpoint="hello",le="0.005"\} 2$/m)
  assert.match(text, /^edgeforge_gateway_request_duration_seconds_bucket\{endpoint="hello",le="30"\} 2$/m)
  assert.match(text, /^edgeforge_gateway_request_duration_seconds_bucket\{endpoint="hello",le="\+Inf"\} 3$/m)
  assert.match(text, /^edgeforge_gateway_request_duration_seconds_count\{endpoint="hello"\} 3$/m)
  assert.match(text, /^edgeforge_gateway_request_duration_seconds_sum\{endpoint="hello"\} 40.0034$/m)
})
