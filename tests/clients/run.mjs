// SPDX-License-Identifier: GPL-3.0-or-later
// The official Ollama (npm ollama) and OpenAI (npm openai) JavaScript clients against obridge sim.
//
//   SIM_URL=http://127.0.0.1:PORT node run.mjs CASE...
//
// Each case makes real client calls and checks what the client returns or raises; it prints one
// "# CASE: result" line per call and throws (exit 1, with the reason) when the result is wrong.
// The tests/e2e/t83xx scripts run one case per test.
import { Ollama } from 'ollama';
import OpenAI from 'openai';

const URL_ = process.env.SIM_URL;
if (!URL_) {
	console.error('run.mjs: SIM_URL is not set');
	process.exit(2);
}
const ollama = new Ollama({ host: URL_ });
const openai = new OpenAI({ baseURL: `${URL_}/v1`, apiKey: 'ollama', maxRetries: 0, timeout: 20000 });

function fail(msg) {
	throw new Error(msg);
}
function check(cond, msg) {
	if (!cond) fail(msg);
}
function say(name, text) {
	console.log(`# ${name}: ${text}`);
}
function short(v) {
	const s = typeof v === 'string' ? v : JSON.stringify(v);
	return s.length > 160 ? s.slice(0, 157) + '...' : s;
}

// Run fn, which must throw; check the class name and the message; return the error.
async function raises(fn, cls, message) {
	let err = null;
	try {
		await fn();
	} catch (e) {
		err = e;
	}
	check(err, `expected ${cls} but the call succeeded`);
	const name = err.constructor?.name ?? typeof err;
	check(name === cls, `expected ${cls}, got ${name}: ${err.message}`);
	if (message instanceof RegExp)
		check(message.test(err.message), `${cls} message ${JSON.stringify(err.message)} does not match ${message}`);
	else if (message !== undefined)
		check(err.message === message, `${cls} message ${JSON.stringify(err.message)}, expected ${JSON.stringify(message)}`);
	return err;
}

async function simFault(spec, extra = {}) {
	const r = await fetch(`${URL_}/_sim/fault`, {
		method: 'POST',
		body: JSON.stringify({ fault: spec, ...extra }),
	});
	check(r.ok, `/_sim/fault ${spec}: HTTP ${r.status}`);
	return r.json();
}
async function simStats() {
	return (await fetch(`${URL_}/_sim/stats`)).json();
}
async function sleep(ms) {
	return new Promise((res) => setTimeout(res, ms));
}

const weatherTool = {
	type: 'function',
	function: {
		name: 'get_weather',
		description: 'Current weather in a city',
		parameters: {
			type: 'object',
			properties: {
				city: { type: 'string', description: 'City name' },
				unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
				days: { type: 'integer', minimum: 1, maximum: 7 },
			},
			required: ['city', 'unit'],
		},
	},
};
const timeTool = {
	type: 'function',
	function: { name: 'get_time', description: 'Time now', parameters: { type: 'object', properties: {} } },
};
const personSchema = {
	type: 'object',
	properties: {
		name: { type: 'string' },
		age: { type: 'integer', minimum: 18 },
		height: { type: 'number' },
		member: { type: 'boolean' },
		tags: { type: 'array', items: { type: 'string' }, minItems: 2 },
		address: {
			type: 'object',
			properties: { city: { type: 'string' }, zip: { type: 'string' } },
			required: ['city'],
		},
		role: { enum: ['admin', 'user'] },
	},
	required: ['name', 'age', 'tags', 'address', 'role'],
};

function checkPerson(v, where) {
	check(v && typeof v === 'object' && !Array.isArray(v), `${where}: not an object: ${short(v)}`);
	for (const k of personSchema.required) check(k in v, `${where}: required "${k}" missing in ${short(v)}`);
	check(typeof v.name === 'string', `${where}: name is not a string`);
	check(Number.isInteger(v.age) && v.age >= 18, `${where}: age ${v.age} is not an integer >= 18`);
	check(Array.isArray(v.tags) && v.tags.length >= 2 && v.tags.every((t) => typeof t === 'string'),
		`${where}: tags ${short(v.tags)} is not an array of >= 2 strings`);
	check(typeof v.address === 'object' && typeof v.address.city === 'string', `${where}: address.city missing`);
	check(['admin', 'user'].includes(v.role), `${where}: role ${v.role} is not in the enum`);
	if ('height' in v) check(typeof v.height === 'number', `${where}: height is not a number`);
	if ('member' in v) check(typeof v.member === 'boolean', `${where}: member is not a boolean`);
}

function checkWeatherArgs(args, where) {
	check(args && typeof args === 'object', `${where}: arguments ${short(args)} is not an object`);
	check(typeof args.city === 'string' && args.city.length > 0, `${where}: city ${short(args.city)}`);
	check(['celsius', 'fahrenheit'].includes(args.unit), `${where}: unit ${short(args.unit)}`);
	if ('days' in args) check(Number.isInteger(args.days) && args.days >= 1 && args.days <= 7, `${where}: days ${args.days}`);
}

async function collect(stream) {
	const parts = [];
	for await (const p of stream) parts.push(p);
	return parts;
}

const userMsg = [{ role: 'user', content: 'Tell me about foxes.' }];
// A 1x1 PNG.
const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

const cases = {
	// ---- Ollama client ----
	async 'ollama-version'() {
		const v = await ollama.version();
		check(typeof v.version === 'string' && /^\d+\.\d+\.\d+/.test(v.version), `version ${short(v)}`);
		say('ollama.version()', v.version);
	},
	async 'ollama-list'() {
		const l = await ollama.list();
		const names = l.models.map((m) => m.name);
		check(names.includes('llama3.2:latest'), `list: ${names}`);
		for (const m of l.models) {
			check(/^[0-9a-f]{64}$/.test(m.digest), `digest ${m.digest}`);
			check(m.size > 0 && m.details && m.details.family, `size/details of ${m.name}`);
			check(!Number.isNaN(Date.parse(m.modified_at)), `modified_at ${m.modified_at}`);
		}
		say('ollama.list()', names.join(', '));
	},
	async 'ollama-show'() {
		const s = await ollama.show({ model: 'llama3.2' });
		check(s.capabilities.includes('completion') && s.capabilities.includes('tools'), `capabilities ${s.capabilities}`);
		check(s.model_info['general.architecture'] === 'llama', `model_info ${short(s.model_info)}`);
		check(s.details.parameter_size && s.modelfile.includes('FROM'), 'details/modelfile');
		const e = await ollama.show({ model: 'nomic-embed-text' });
		check(e.capabilities.includes('embedding') && !e.capabilities.includes('tools'), `embed caps ${e.capabilities}`);
		say('ollama.show({model:"llama3.2"})', `capabilities ${s.capabilities.join(',')}, ${s.details.parameter_size}`);
	},
	async 'ollama-generate'() {
		const r = await ollama.generate({ model: 'llama3.2', prompt: 'Why is the sky blue?' });
		check(r.done === true && r.done_reason === 'stop' && r.response.length > 0, `generate ${short(r)}`);
		check(r.eval_count > 0 && r.total_duration > 0 && Array.isArray(r.context), 'metrics/context');
		say('ollama.generate()', `${r.eval_count} tokens: ${short(r.response)}`);
		const parts = await collect(await ollama.generate({ model: 'llama3.2', prompt: 'Why is the sky blue?', stream: true }));
		const last = parts[parts.length - 1];
		check(parts.length > 2 && last.done && last.eval_count === parts.length - 1, `stream of ${parts.length}`);
		check(parts.slice(0, -1).every((p) => !p.done && typeof p.response === 'string'), 'chunks');
		say('ollama.generate({stream:true})', `${parts.length} chunks, last done_reason ${last.done_reason}`);
	},
	async 'ollama-chat'() {
		const r = await ollama.chat({ model: 'llama3.2', messages: userMsg });
		check(r.done && r.message.role === 'assistant' && r.message.content.length > 0, `chat ${short(r)}`);
		say('ollama.chat()', short(r.message.content));
		const parts = await collect(await ollama.chat({ model: 'llama3.2', messages: userMsg, stream: true }));
		const text = parts.map((p) => p.message.content).join('');
		check(parts[parts.length - 1].done && text === r.message.content, `stream text ${short(text)}`);
		say('ollama.chat({stream:true})', `${parts.length} chunks, same text as stream:false`);
	},
	async 'ollama-ps'() {
		await ollama.generate({ model: 'llama3.2', prompt: 'x', keep_alive: '1m' });
		const p = await ollama.ps();
		const m = p.models.find((x) => x.name === 'llama3.2:latest');
		check(m, `ps: ${short(p)}`);
		check(m.size_vram <= m.size && m.size > 0 && m.context_length > 0, `ps entry ${short(m)}`);
		check(!Number.isNaN(Date.parse(m.expires_at)), `expires_at ${m.expires_at}`);
		say('ollama.ps()', `${m.name} size ${m.size}, context ${m.context_length}, expires ${m.expires_at}`);
	},
	async 'ollama-format-json'() {
		const r = await ollama.generate({ model: 'llama3.2', prompt: 'Describe a fox as JSON', format: 'json' });
		let v;
		try {
			v = JSON.parse(r.response);
		} catch (e) {
			fail(`generate format:"json" response is not JSON: ${short(r.response)}`);
		}
		check(v && typeof v === 'object', `not an object: ${short(v)}`);
		say('ollama.generate({format:"json"})', short(r.response));
		const parts = await collect(await ollama.chat({ model: 'llama3.2', messages: userMsg, format: 'json', stream: true }));
		const text = parts.map((p) => p.message.content).join('');
		try {
			JSON.parse(text);
		} catch (e) {
			fail(`chat format:"json" stream is not JSON: ${short(text)}`);
		}
		check(parts.length > 3, `only ${parts.length} chunks`);
		say('ollama.chat({format:"json",stream:true})', `${parts.length} chunks joined: ${short(text)}`);
	},
	async 'ollama-format-schema'() {
		const r = await ollama.chat({ model: 'llama3.2', messages: userMsg, format: personSchema });
		let v;
		try {
			v = JSON.parse(r.message.content);
		} catch (e) {
			fail(`chat format:schema content is not JSON: ${short(r.message.content)}`);
		}
		checkPerson(v, 'chat');
		say('ollama.chat({format:schema})', short(r.message.content));
		const parts = await collect(await ollama.generate({ model: 'qwen2.5:0.5b', prompt: 'a person', format: personSchema, stream: true }));
		const text = parts.map((p) => p.response).join('');
		try {
			v = JSON.parse(text);
		} catch (e) {
			fail(`generate format:schema stream is not JSON: ${short(text)}`);
		}
		checkPerson(v, 'generate stream');
		say('ollama.generate({format:schema,stream:true})', `${parts.length} chunks, follows the schema`);
	},
	async 'ollama-tools'() {
		const r = await ollama.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weatherTool, timeTool] });
		const calls = r.message.tool_calls;
		check(Array.isArray(calls) && calls.length === 1, `no tool_calls in ${short(r.message)}`);
		check(calls[0].function.name === 'get_weather', `called ${calls[0].function.name}`);
		checkWeatherArgs(calls[0].function.arguments, 'chat tools');
		check(r.done && r.message.content === '', `content ${short(r.message.content)}`);
		say('ollama.chat({tools})', `tool_calls ${short(calls)}`);
		const parts = await collect(await ollama.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'Weather?' }], tools: [weatherTool], stream: true }));
		const withCalls = parts.filter((p) => p.message.tool_calls && p.message.tool_calls.length);
		check(withCalls.length === 1 && parts[parts.length - 1].done, `stream: ${withCalls.length} chunks with tool_calls`);
		checkWeatherArgs(withCalls[0].message.tool_calls[0].function.arguments, 'chat tools stream');
		say('ollama.chat({tools,stream:true})', `one chunk with tool_calls, then done`);
		// After the tool's answer, the model answers in text.
		const a = await ollama.chat({
			model: 'llama3.2',
			tools: [weatherTool],
			messages: [
				{ role: 'user', content: 'Weather in Paris?' },
				{ role: 'assistant', content: '', tool_calls: calls },
				{ role: 'tool', content: '{"temp":21}', tool_name: 'get_weather' },
			],
		});
		check(!a.message.tool_calls && a.message.content.length > 0, `after the tool result: ${short(a.message)}`);
		say('ollama.chat({tools, last message from the tool})', `text: ${short(a.message.content)}`);
		const err = await raises(() => ollama.chat({ model: 'gemma3:1b', messages: userMsg, tools: [weatherTool] }),
			'ResponseError', 'registry.ollama.ai/library/gemma3:1b does not support tools');
		check(err.status_code === 400, `status ${err.status_code}`);
		say('ollama.chat({model:"gemma3:1b",tools})', `ResponseError 400 "${err.message}"`);
	},
	async 'ollama-images'() {
		const r = await ollama.generate({ model: 'llama3.2', prompt: 'What is in this picture?', images: [png] });
		check(r.done && r.response.length > 0, `generate with images ${short(r)}`);
		say('ollama.generate({images:[base64]})', `done, ${r.eval_count} tokens`);
		const c = await ollama.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'And this?', images: [Buffer.from(png, 'base64')] }] });
		check(c.done && c.message.content.length > 0, 'chat with images');
		say('ollama.chat({messages:[{images:[Uint8Array]}]})', 'done');
		await raises(() => ollama.generate({ model: 'llama3.2', prompt: 'x', images: ['not base64!'] }), 'ResponseError', /illegal base64 data at input byte/);
		say('ollama.generate({images:["not base64!"]})', 'ResponseError 400 illegal base64 data');
	},
	async 'ollama-embed'() {
		const r = await ollama.embed({ model: 'nomic-embed-text', input: ['one', 'two'] });
		check(r.embeddings.length === 2 && r.embeddings[0].length === 768, `embed ${r.embeddings.length}x${r.embeddings[0]?.length}`);
		const norm = Math.hypot(...r.embeddings[0]);
		check(Math.abs(norm - 1) < 1e-3, `norm ${norm}`);
		say('ollama.embed({input:[2]})', `2 x 768, norm ${norm.toFixed(4)}`);
		const l = await ollama.embeddings({ model: 'nomic-embed-text', prompt: 'one' });
		check(l.embedding.length === 768, `embeddings ${l.embedding.length}`);
		say('ollama.embeddings()', `768 floats`);
	},
	async 'ollama-pull'() {
		const r = await ollama.pull({ model: 'tinyllama' });
		check(r.status === 'success', `pull ${short(r)}`);
		say('ollama.pull({model:"tinyllama"})', short(r));
		const parts = await collect(await ollama.pull({ model: 'llama3.2:1b', stream: true }));
		const st = parts.map((p) => p.status);
		check(st[0] === 'pulling manifest' && st[st.length - 1] === 'success', `statuses ${st}`);
		check(parts.some((p) => p.total > 0 && p.completed === p.total && /^pulling [0-9a-f]{12}$/.test(p.status)), 'layer progress');
		const l = await ollama.list();
		check(l.models.some((m) => m.name === 'llama3.2:1b') && l.models.some((m) => m.name === 'tinyllama:latest'), 'pulled models listed');
		say('ollama.pull({stream:true})', `${parts.length} lines: ${[...new Set(st.map((s) => s.replace(/[0-9a-f]{12}$/, 'X')))].join(' | ')}`);
		const e = await raises(async () => collect(await ollama.pull({ model: 'bad name!', stream: true })), 'ResponseError', 'invalid model name');
		check(e.status_code === 400, 'status');
		say('ollama.pull({model:"bad name!",stream:true})', `ResponseError 400 "${e.message}"`);
	},
	async 'ollama-create'() {
		const parts = await collect(await ollama.create({ model: 'pirate', from: 'llama3.2', system: 'You are a pirate.', parameters: { temperature: 0.2 }, stream: true }));
		const st = parts.map((p) => p.status);
		check(st.length >= 4 && st.filter((s) => /^using existing layer sha256:[0-9a-f]{64}$/.test(s)).length >= 1, `create statuses ${st}`);
		check(st.filter((s) => /^creating new layer sha256:[0-9a-f]{64}$/.test(s)).length === 2, `new layers ${st}`);
		check(st[st.length - 2] === 'writing manifest' && st[st.length - 1] === 'success', `create end ${st}`);
		say('ollama.create({from,system,parameters,stream:true})', st.map((s) => s.replace(/sha256:[0-9a-f]{64}/, 'sha256:…')).join(' | '));
		const l = await ollama.list();
		const pm = l.models.find((m) => m.name === 'pirate:latest');
		const base = l.models.find((m) => m.name === 'llama3.2:latest');
		check(pm && base && pm.digest !== base.digest && pm.size === base.size, `list after create ${short(pm)}`);
		const s = await ollama.show({ model: 'pirate' });
		check(s.system === 'You are a pirate.' && /temperature\s+0.2/.test(s.parameters), `show ${short(s)}`);
		check(s.capabilities.includes('tools') && s.modelfile.includes('SYSTEM'), `show caps/modelfile ${s.capabilities}`);
		const g = await ollama.generate({ model: 'pirate', prompt: 'Ahoy?' });
		check(g.done && g.response.length > 0, 'generate on the created model');
		const p = await ollama.ps();
		check(p.models.some((m) => m.name === 'pirate:latest'), 'the created model is loaded');
		say('ollama.show/generate/ps on "pirate"', `listed, shown with its system prompt, loaded, answered`);
		const r = await ollama.create({ model: 'pirate2', from: 'pirate' });
		check(r.status === 'success', `create stream:false ${short(r)}`);
		say('ollama.create({from:"pirate"})', short(r));
		const e = await raises(() => ollama.create({ model: 'x', from: 'not-installed' }), 'ResponseError', 'pull model manifest: file does not exist');
		say('ollama.create({from:"not-installed"})', `ResponseError ${e.status_code} "${e.message}"`);
	},
	async 'ollama-copy-delete'() {
		await ollama.copy({ source: 'qwen2.5:0.5b', destination: 'mine:v1' });
		let l = await ollama.list();
		const a = l.models.find((m) => m.name === 'mine:v1'), b = l.models.find((m) => m.name === 'qwen2.5:0.5b');
		check(a && b && a.digest === b.digest, 'copy: same digest');
		say('ollama.copy()', `{status:"success"}, mine:v1 has qwen2.5:0.5b's digest`);
		await ollama.generate({ model: 'mine:v1', prompt: 'x', keep_alive: -1 });
		check((await ollama.ps()).models.some((m) => m.name === 'mine:v1'), 'loaded before delete');
		const d = await ollama.delete({ model: 'mine:v1' });
		check(d.status === 'success', `delete ${short(d)}`);
		l = await ollama.list();
		check(!l.models.some((m) => m.name === 'mine:v1'), 'still listed after delete');
		let gone = false;
		for (let i = 0; i < 100 && !gone; i++) {
			gone = !(await ollama.ps()).models.some((m) => m.name === 'mine:v1');
			if (!gone) await sleep(50);
		}
		check(gone, 'the deleted model stays loaded in ps');
		say('ollama.delete() of a loaded model', 'unlisted, and unloaded from ps');
		const e = await raises(() => ollama.generate({ model: 'mine:v1', prompt: 'x' }), 'ResponseError', "model 'mine:v1' not found");
		check(e.status_code === 404, 'status');
		await raises(() => ollama.delete({ model: 'mine:v1' }), 'ResponseError', "model 'mine:v1' not found");
		say('ollama.delete() again', `ResponseError 404 "model 'mine:v1' not found"`);
	},
	async 'ollama-push'() {
		await ollama.copy({ source: 'llama3.2', destination: 'someone/qwen:mine' });
		const parts = await collect(await ollama.push({ model: 'someone/qwen:mine', stream: true }));
		const st = parts.map((p) => p.status);
		check(st[0] === 'retrieving manifest' && st[st.length - 2] === 'pushing manifest' && st[st.length - 1] === 'success', `push statuses ${st}`);
		const layers = parts.filter((p) => /^pushing [0-9a-f]{12}$/.test(p.status));
		check(layers.length >= 5 && layers.every((p) => p.digest.startsWith('sha256:') && p.total > 0), 'layer lines');
		check(layers.some((p) => (p.completed ?? 0) < p.total) && layers.filter((p) => p.completed === p.total).length >= 5, 'progress');
		say('ollama.push({stream:true})', `${parts.length} lines: ${[...new Set(st.map((s) => s.replace(/[0-9a-f]{12}$/, 'X')))].join(' | ')}`);
		const r = await ollama.push({ model: 'someone/qwen:mine' });
		check(r.status === 'success', `push ${short(r)}`);
		say('ollama.push()', short(r));
		const e = await raises(async () => collect(await ollama.push({ model: 'someone/missing', stream: true })), 'Error', /^open .*manifests\/registry.ollama.ai\/someone\/missing\/latest: no such file or directory$/);
		say('ollama.push({model:"someone/missing",stream:true})', `Error "${e.message}"`);
		await simFault('error');
		const f = await raises(async () => collect(await ollama.push({ model: 'someone/qwen:mine', stream: true })), 'Error', /^max retries exceeded/);
		say('ollama.push() under fault error', `Error "${f.message}"`);
		const g = await raises(() => ollama.push({ model: 'someone/qwen:mine' }), 'ResponseError', /^max retries exceeded/);
		check(g.status_code === 500, 'status');
		say('ollama.push({stream:false}) under fault error', `ResponseError 500 "${g.message}"`);
		await simFault('none');
	},
	async 'ollama-abort'() {
		// the stream pauses in its middle, so the abort comes while it is in progress
		await simFault('stall=5s');
		const s = await ollama.generate({ model: 'llama3.2', prompt: 'long story', stream: true });
		let n = 0, done = false;
		const err = await raises(async () => {
			for await (const p of s) {
				done ||= p.done;
				if (++n === 3) s.abort();
			}
		}, 'DOMException', 'This operation was aborted');
		await simFault('none');
		check(err.name === 'AbortError' && n >= 3 && !done, `abort after ${n}, done ${done}`);
		say('AbortableAsyncIterator.abort() mid-stream', `${err.constructor.name} ${err.name} "${err.message}", no done chunk`);
		let st;
		for (let i = 0; i < 100; i++) {
			st = (await simStats()).instances[0];
			if (st.in_flight === 0 && st.generating === 0) break;
			await sleep(50);
		}
		check(st.in_flight === 0 && st.generating === 0, `the sim still works on it: ${short(st)}`);
		const r = await ollama.generate({ model: 'llama3.2', prompt: 'again' });
		check(r.done, 'after abort');
		say('the sim after the abort', 'slot released, next request answered');
	},

	// ---- errors and faults, Ollama client ----
	async 'ollama-errors'() {
		let e = await raises(() => ollama.generate({ model: 'nope', prompt: 'x' }), 'ResponseError', "model 'nope' not found");
		check(e.status_code === 404, 'status');
		say('ollama.generate({model:"nope"})', `ResponseError 404 "${e.message}"`);
		e = await raises(() => ollama.chat({ model: 'nope', messages: userMsg }), 'ResponseError', "model 'nope' not found");
		e = await raises(() => ollama.embed({ model: 'nope', input: 'x' }), 'ResponseError', 'model "nope" not found, try pulling it first');
		say('ollama.embed({model:"nope"})', `ResponseError 404 "${e.message}"`);
		e = await raises(() => ollama.show({ model: 'nope' }), 'ResponseError', "model 'nope:latest' not found");
		say('ollama.show({model:"nope"})', `ResponseError 404 "${e.message}"`);
		e = await raises(() => ollama.generate({ model: 'nomic-embed-text', prompt: 'x' }), 'ResponseError', '"nomic-embed-text" does not support generate');
		check(e.status_code === 400, 'status');
		say('ollama.generate({model:"nomic-embed-text"})', `ResponseError 400 "${e.message}"`);
		e = await raises(() => ollama.chat({ model: 'nomic-embed-text', messages: userMsg }), 'ResponseError', '"nomic-embed-text" does not support chat');
		say('ollama.chat({model:"nomic-embed-text"})', `ResponseError 400 "${e.message}"`);
	},
	async 'busy-503'() {
		// --max-queue 1: one cold load in progress, then three cold requests for another model.
		const first = ollama.generate({ model: 'llama3.2', prompt: 'x' });
		await sleep(100);
		const rs = await Promise.allSettled([1, 2, 3].map(async (i) => {
			await sleep(i * 30);
			return ollama.generate({ model: 'qwen2.5:0.5b', prompt: 'x' });
		}));
		await first;
		const codes = rs.map((r) => (r.status === 'fulfilled' ? 200 : r.reason.status_code));
		check(JSON.stringify(codes) === '[200,503,503]', `codes ${codes}, Ollama answers 200,503,503`);
		const e = rs[1].reason;
		check(e.constructor.name === 'ResponseError' && e.message === 'server busy, please try again.  maximum pending requests exceeded', `${e.constructor.name}: ${e.message}`);
		say('3 x ollama.generate() while another model loads, --max-queue 1', `${codes.join(', ')}; ResponseError 503 "${e.message}"`);
		const o = await raises(async () => {
			const p = openai.chat.completions.create({ model: 'llama3.2:1b', messages: userMsg });
			await sleep(20);
			await Promise.all([p, openai.chat.completions.create({ model: 'tinyllama', messages: userMsg }),
				openai.chat.completions.create({ model: 'gemma3:1b', messages: userMsg })]);
		}, 'InternalServerError', '503 server busy, please try again.  maximum pending requests exceeded');
		check(o.status === 503, 'status');
		say('openai.chat.completions.create() when the queue is full', `InternalServerError 503 "${o.message}"`);
	},
	async 'ollama-faults'() {
		const gen = () => ollama.generate({ model: 'llama3.2', prompt: 'x' });
		const genStream = async () => collect(await ollama.generate({ model: 'llama3.2', prompt: 'x', stream: true }));
		await gen(); // loaded
		await simFault('500');
		let e = await raises(gen, 'ResponseError', 'llama runner process has terminated: exit status 2');
		check(e.status_code === 500, 'status');
		e = await raises(genStream, 'ResponseError', 'llama runner process has terminated: exit status 2');
		say('fault 500: ollama.generate()', `ResponseError 500 "${e.message}" (stream or not)`);
		await simFault('503');
		e = await raises(gen, 'ResponseError', 'server busy, please try again.  maximum pending requests exceeded');
		check(e.status_code === 503, 'status');
		say('fault 503: ollama.generate()', `ResponseError 503 "${e.message}"`);
		await simFault('error');
		e = await raises(genStream, 'Error', 'an error was encountered while running the model: unexpected EOF');
		say('fault error: ollama.generate({stream:true})', `Error "${e.message}" (after some chunks)`);
		e = await raises(gen, 'ResponseError', 'an error was encountered while running the model: unexpected EOF');
		check(e.status_code === 500, 'status');
		say('fault error: ollama.generate()', `ResponseError 500 "${e.message}"`);
		await simFault('malformed');
		const warns = [];
		const w = console.warn;
		console.warn = (...a) => warns.push(a.join(' '));
		const parts = await genStream();
		console.warn = w;
		check(parts[parts.length - 1].done && warns.length === 1 && warns[0].startsWith('invalid json:'), `malformed: ${warns}`);
		say('fault malformed: ollama.generate({stream:true})', `done; the client skips the bad line (console.warn "invalid json: ...")`);
		e = await raises(gen, 'SyntaxError', /JSON/);
		say('fault malformed: ollama.generate()', `SyntaxError "${e.message}"`);
		await simFault('truncate');
		e = await raises(genStream, 'TypeError', 'terminated');
		say('fault truncate: ollama.generate({stream:true})', `TypeError "${e.message}"`);
		e = await raises(gen, 'TypeError', 'terminated');
		say('fault truncate: ollama.generate()', `TypeError "${e.message}"`);
		await simFault('stall=300ms');
		const st = await genStream();
		const last = st[st.length - 1];
		check(last.done && last.eval_duration >= 300e6, `stall: eval_duration ${last.eval_duration}`);
		say('fault stall=300ms: ollama.generate({stream:true})', `done, eval_duration ${(last.eval_duration / 1e6).toFixed(0)} ms`);
		await simFault('slow');
		const sl = await gen();
		check(sl.done && sl.eval_duration >= 10 * 5e6 * (sl.eval_count - 1), `slow: eval_duration ${sl.eval_duration}`);
		say('fault slow: ollama.generate()', `done, eval_duration ${(sl.eval_duration / 1e6).toFixed(0)} ms (x10)`);
		await simFault('hang');
		const hung = new Ollama({ host: URL_, fetch: (u, o) => fetch(u, { ...o, signal: AbortSignal.timeout(300) }) });
		e = await raises(() => hung.version(), 'DOMException', 'The operation was aborted due to timeout');
		say('fault hang: ollama.version() with a 300 ms fetch timeout', `DOMException ${e.name} "${e.message}"`);
		await simFault('none');
		await simFault('down', { instance: 'gpu-2' });
		const down = new Ollama({ host: process.env.SIM_URL2 });
		e = await raises(() => down.version(), 'TypeError', 'fetch failed');
		check(e.cause && e.cause.code === 'ECONNREFUSED', `cause ${e.cause}`);
		say('fault down: ollama.version()', `TypeError "${e.message}" (cause ECONNREFUSED)`);
		await simFault('up', { instance: 'gpu-2' });
	},

	// ---- OpenAI client ----
	async 'openai-models'() {
		const l = await openai.models.list();
		const ids = l.data.map((m) => m.id);
		check(ids.includes('llama3.2:latest') && l.data.every((m) => m.object === 'model' && m.owned_by === 'library'), `models ${ids}`);
		say('openai.models.list()', ids.join(', '));
		const m = await openai.models.retrieve('llama3.2');
		check(m.id === 'llama3.2' && m.created > 0, `retrieve ${short(m)}`);
		say('openai.models.retrieve("llama3.2")', short(m));
		const e = await raises(() => openai.models.retrieve('nope'), 'NotFoundError', '404 model "nope" not found');
		say('openai.models.retrieve("nope")', `NotFoundError "${e.message}"`);
	},
	async 'openai-chat'() {
		const r = await openai.chat.completions.create({ model: 'llama3.2', messages: userMsg });
		const c = r.choices[0];
		check(r.object === 'chat.completion' && c.finish_reason === 'stop' && c.message.content.length > 0, `chat ${short(r)}`);
		check(r.usage.completion_tokens > 0 && r.usage.total_tokens === r.usage.prompt_tokens + r.usage.completion_tokens, 'usage');
		say('openai.chat.completions.create()', `finish_reason stop, usage ${short(r.usage)}`);
		const s = await openai.chat.completions.create({ model: 'llama3.2', messages: userMsg, stream: true, stream_options: { include_usage: true } });
		const chunks = await collect(s);
		const text = chunks.map((x) => x.choices[0]?.delta?.content ?? '').join('');
		const fin = chunks.find((x) => x.choices[0]?.finish_reason);
		const last = chunks[chunks.length - 1];
		check(text === c.message.content && fin && fin.choices[0].finish_reason === 'stop', `stream text ${short(text)}`);
		check(last.choices.length === 0 && last.usage && last.usage.completion_tokens === r.usage.completion_tokens, `usage chunk ${short(last)}`);
		say('openai.chat.completions.create({stream:true,include_usage})', `${chunks.length} chunks, finish stop, then a usage chunk ${short(last.usage)}`);
		const e = await raises(() => openai.chat.completions.create({ model: 'nope', messages: userMsg }), 'NotFoundError', "404 model 'nope' not found");
		say('openai.chat.completions.create({model:"nope"})', `NotFoundError "${e.message}"`);
		const b = await raises(() => openai.chat.completions.create({ model: 'nomic-embed-text', messages: userMsg }), 'BadRequestError', '400 "nomic-embed-text" does not support chat');
		say('openai.chat.completions.create({model:"nomic-embed-text"})', `BadRequestError "${b.message}"`);
	},
	async 'openai-tools'() {
		const r = await openai.chat.completions.create({ model: 'llama3.2', messages: [{ role: 'user', content: 'Weather?' }], tools: [weatherTool] });
		const c = r.choices[0];
		check(c.finish_reason === 'tool_calls', `finish_reason ${c.finish_reason}`);
		const tc = c.message.tool_calls;
		check(Array.isArray(tc) && tc.length === 1 && tc[0].type === 'function' && tc[0].function.name === 'get_weather' && tc[0].id, `tool_calls ${short(tc)}`);
		checkWeatherArgs(JSON.parse(tc[0].function.arguments), 'openai tools');
		say('openai.chat.completions.create({tools})', `finish_reason tool_calls, ${short(tc[0].function)}`);
		const chunks = await collect(await openai.chat.completions.create({ model: 'llama3.2', messages: [{ role: 'user', content: 'Weather?' }], tools: [weatherTool], stream: true }));
		const d = chunks.filter((x) => x.choices[0]?.delta?.tool_calls);
		const fin = chunks.find((x) => x.choices[0]?.finish_reason);
		check(d.length === 1 && fin.choices[0].finish_reason === 'tool_calls', `stream: ${d.length} tool_call deltas, finish ${fin?.choices[0].finish_reason}`);
		checkWeatherArgs(JSON.parse(d[0].choices[0].delta.tool_calls[0].function.arguments), 'openai tools stream');
		say('openai.chat.completions.create({tools,stream:true})', 'one delta with tool_calls, finish_reason tool_calls');
	},
	async 'openai-json'() {
		const r = await openai.chat.completions.create({ model: 'llama3.2', messages: userMsg, response_format: { type: 'json_object' } });
		JSON.parse(r.choices[0].message.content);
		say('openai.chat.completions.create({response_format:json_object})', short(r.choices[0].message.content));
		const s = await openai.chat.completions.create({ model: 'llama3.2', messages: userMsg, response_format: { type: 'json_schema', json_schema: { name: 'person', schema: personSchema } } });
		checkPerson(JSON.parse(s.choices[0].message.content), 'openai json_schema');
		say('openai.chat.completions.create({response_format:json_schema})', 'follows the schema');
	},
	async 'openai-completions'() {
		const r = await openai.completions.create({ model: 'llama3.2', prompt: 'Once upon a time', max_tokens: 5 });
		check(r.object === 'text_completion' && r.choices[0].finish_reason === 'length' && r.usage.completion_tokens === 5, `completions ${short(r)}`);
		say('openai.completions.create({max_tokens:5})', `finish_reason length, ${short(r.choices[0].text)}`);
		const chunks = await collect(await openai.completions.create({ model: 'llama3.2', prompt: 'Once', stream: true, stream_options: { include_usage: true } }));
		const last = chunks[chunks.length - 1];
		check(chunks.some((x) => x.choices[0]?.finish_reason === 'stop') && last.usage.completion_tokens > 0, `stream ${short(last)}`);
		say('openai.completions.create({stream:true,include_usage})', `${chunks.length} chunks, usage ${short(last.usage)}`);
	},
	async 'openai-embeddings'() {
		const f = await openai.embeddings.create({ model: 'nomic-embed-text', input: 'a fox', encoding_format: 'float' });
		const vf = f.data[0].embedding;
		check(Array.isArray(vf) && vf.length === 768 && typeof vf[0] === 'number', `float: ${typeof vf} ${vf.length}`);
		say('openai.embeddings.create({encoding_format:"float"})', `768 floats, usage ${short(f.usage)}`);
		const b = await openai.embeddings.create({ model: 'nomic-embed-text', input: 'a fox' });
		const vb = b.data[0].embedding;
		check(Array.isArray(vb) && vb.length === 768, `default (base64): ${vb.length} values`);
		const maxd = Math.max(...vb.map((x, i) => Math.abs(x - vf[i])));
		check(maxd < 1e-6 && vb.some((x) => x !== 0), `base64 differs from float by ${maxd}`);
		say('openai.embeddings.create() (base64 by default)', `768 floats, equal to the float answer within ${maxd.toExponential(1)}`);
		const raw = await openai.embeddings.create({ model: 'nomic-embed-text', input: ['a', 'b'], encoding_format: 'base64' });
		check(raw.data.length === 2 && typeof raw.data[0].embedding === 'string' && Buffer.from(raw.data[0].embedding, 'base64').length === 768 * 4, 'raw base64');
		say('openai.embeddings.create({encoding_format:"base64"})', `2 base64 strings of 768 float32`);
		const e = await raises(() => openai.embeddings.create({ model: 'nope', input: 'x' }), 'NotFoundError', '404 model "nope" not found, try pulling it first');
		say('openai.embeddings.create({model:"nope"})', `NotFoundError "${e.message}"`);
	},
	async 'openai-faults'() {
		const chat = () => openai.chat.completions.create({ model: 'llama3.2', messages: userMsg });
		const chatStream = async () => collect(await openai.chat.completions.create({ model: 'llama3.2', messages: userMsg, stream: true }));
		await chat();
		await simFault('500');
		let e = await raises(chat, 'InternalServerError', '500 llama runner process has terminated: exit status 2');
		say('fault 500: openai.chat.completions.create()', `InternalServerError "${e.message}"`);
		await simFault('503');
		e = await raises(chat, 'InternalServerError', '503 server busy, please try again.  maximum pending requests exceeded');
		say('fault 503: openai.chat.completions.create()', `InternalServerError "${e.message}"`);
		await simFault('error');
		const ch = await chatStream();
		check(ch.length > 0 && !ch.some((x) => x.choices[0]?.finish_reason), 'error: a finish chunk arrived');
		say('fault error: openai.chat.completions.create({stream:true})', `the stream ends after ${ch.length} chunks without finish_reason or [DONE], no exception`);
		e = await raises(chat, 'InternalServerError', '500 an error was encountered while running the model: unexpected EOF');
		say('fault error: openai.chat.completions.create()', `InternalServerError "${e.message}"`);
		await simFault('malformed');
		e = await raises(chatStream, 'SyntaxError', /JSON/);
		say('fault malformed: openai.chat.completions.create({stream:true})', `SyntaxError "${e.message}"`);
		await simFault('truncate');
		e = await raises(chatStream, 'TypeError', 'terminated');
		say('fault truncate: openai.chat.completions.create({stream:true})', `TypeError "${e.message}"`);
		await simFault('stall=200ms');
		const sc = await chatStream();
		check(sc.some((x) => x.choices[0]?.finish_reason === 'stop'), 'stall: no finish');
		say('fault stall=200ms: openai stream', 'finishes');
		await simFault('slow');
		const sl = await chat();
		check(sl.choices[0].finish_reason === 'stop', 'slow');
		say('fault slow: openai.chat.completions.create()', 'answers (x10 slower)');
		await simFault('hang');
		const hung = new OpenAI({ baseURL: `${URL_}/v1`, apiKey: 'x', maxRetries: 0, timeout: 300 });
		e = await raises(() => hung.models.list(), 'APIConnectionTimeoutError', 'Request timed out.');
		say('fault hang: openai.models.list() with timeout 300 ms', `APIConnectionTimeoutError "${e.message}"`);
		await simFault('none');
		await simFault('down', { instance: 'gpu-2' });
		const down = new OpenAI({ baseURL: `${process.env.SIM_URL2}/v1`, apiKey: 'x', maxRetries: 0 });
		e = await raises(() => down.models.list(), 'APIConnectionError', 'Connection error.');
		say('fault down: openai.models.list()', `APIConnectionError "${e.message}"`);
		await simFault('up', { instance: 'gpu-2' });
	},
};

const names = process.argv.slice(2);
if (!names.length) {
	console.error(`usage: SIM_URL=... node run.mjs CASE...\ncases: ${Object.keys(cases).join(' ')}`);
	process.exit(2);
}
for (const n of names) {
	if (!cases[n]) {
		console.error(`run.mjs: no case '${n}'`);
		process.exit(2);
	}
	try {
		await cases[n]();
	} catch (e) {
		console.error(`${n}: ${e.stack ?? e}`);
		process.exit(1);
	}
}
