// Drawing the points: a small WebGL renderer (one context per view, released by destroy()), and a
// Canvas 2-D fallback for browsers without WebGL or once the page ran out of contexts.
//
// Both take the same calls:
//   setPoints(from, to)     two Float32Array frames [x0, y0, ...]; the vertex shader mixes them by t
//   setLayer(name, indices) a subset drawn on top (search matches, neighbours, highlights, selection)
//   draw({xf, t, base, layers, dpr})   xf = clipTransform(view); base/layers = {color: [r,g,b,a], size}
//   destroy()

const VERTEX = `
attribute vec2 a_from;
attribute vec2 a_to;
uniform vec4 u_xf;
uniform float u_t;
uniform float u_size;
void main() {
  vec2 p = mix(a_from, a_to, u_t);
  gl_Position = vec4(p * u_xf.xy + u_xf.zw, 0.0, 1.0);
  gl_PointSize = u_size;
}`;
const FRAGMENT = `
precision mediump float;
uniform vec4 u_color;
void main() {
  vec2 c = gl_PointCoord * 2.0 - 1.0;
  float r = dot(c, c);
  if (r > 1.0) discard;
  float a = u_color.a * (1.0 - smoothstep(0.55, 1.0, r));
  gl_FragColor = vec4(u_color.rgb * a, a);
}`;

/** Layers drawn over the base points, bottom to top. */
export const LAYERS = ["match", "neighbor", "highlight", "selected"];

function gather(src, indices) {
  const out = new Float32Array(indices.length * 2);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    out[2 * k] = src[2 * i];
    out[2 * k + 1] = src[2 * i + 1];
  }
  return out;
}

function compile(gl, type, source) {
  const shader = gl.createShader(type);
  gl.shaderSource(shader, source);
  gl.compileShader(shader);
  if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(shader));
  return shader;
}

export function createWebGLRenderer(canvas) {
  const options = { antialias: false, alpha: true, premultipliedAlpha: true, preserveDrawingBuffer: false };
  let kind = "webgl2";
  let gl = canvas.getContext("webgl2", options);
  if (!gl) { kind = "webgl"; gl = canvas.getContext("webgl", options); }
  if (!gl) return null;
  const program = gl.createProgram();
  const vs = compile(gl, gl.VERTEX_SHADER, VERTEX), fs = compile(gl, gl.FRAGMENT_SHADER, FRAGMENT);
  gl.attachShader(program, vs);
  gl.attachShader(program, fs);
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(program));
  const loc = {
    from: gl.getAttribLocation(program, "a_from"), to: gl.getAttribLocation(program, "a_to"),
    xf: gl.getUniformLocation(program, "u_xf"), t: gl.getUniformLocation(program, "u_t"),
    size: gl.getUniformLocation(program, "u_size"), color: gl.getUniformLocation(program, "u_color"),
  };
  const base = { from: gl.createBuffer(), to: gl.createBuffer(), n: 0 };
  const layers = new Map(); // name -> {indices, from, to, n, dirty}
  let from = new Float32Array(0), to = from;
  const [minSize, maxSize] = gl.getParameter(gl.ALIASED_POINT_SIZE_RANGE);

  const upload = (buffer, data) => {
    gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
    gl.bufferData(gl.ARRAY_BUFFER, data, gl.DYNAMIC_DRAW);
  };
  const bind = (fromBuffer, toBuffer) => {
    gl.bindBuffer(gl.ARRAY_BUFFER, fromBuffer);
    gl.enableVertexAttribArray(loc.from);
    gl.vertexAttribPointer(loc.from, 2, gl.FLOAT, false, 0, 0);
    gl.bindBuffer(gl.ARRAY_BUFFER, toBuffer);
    gl.enableVertexAttribArray(loc.to);
    gl.vertexAttribPointer(loc.to, 2, gl.FLOAT, false, 0, 0);
  };

  return {
    kind,
    setPoints(a, b) {
      from = a; to = b;
      upload(base.from, a);
      if (b !== a) upload(base.to, b);
      base.same = b === a;
      base.n = a.length / 2;
      for (const layer of layers.values()) layer.dirty = true;
    },
    setLayer(name, indices) {
      let layer = layers.get(name);
      if (!layer) { layer = { from: gl.createBuffer(), to: gl.createBuffer() }; layers.set(name, layer); }
      Object.assign(layer, { indices, dirty: true, n: indices.length });
    },
    draw({ xf, t, base: style, layers: styles, dpr = 1 }) {
      gl.viewport(0, 0, canvas.width, canvas.height);
      gl.clearColor(0, 0, 0, 0);
      gl.clear(gl.COLOR_BUFFER_BIT);
      gl.enable(gl.BLEND);
      gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
      gl.useProgram(program);
      gl.uniform4fv(loc.xf, xf);
      gl.uniform1f(loc.t, t);
      const pass = (fromBuffer, toBuffer, n, s) => {
        if (!n || !s) return;
        bind(fromBuffer, toBuffer);
        gl.uniform1f(loc.size, Math.min(maxSize, Math.max(minSize, s.size * dpr)));
        gl.uniform4fv(loc.color, s.color);
        gl.drawArrays(gl.POINTS, 0, n);
      };
      pass(base.from, base.same ? base.from : base.to, base.n, style);
      for (const name of LAYERS) {
        const layer = layers.get(name);
        if (!layer || !layer.n) continue;
        if (layer.dirty) {
          upload(layer.from, gather(from, layer.indices));
          upload(layer.to, gather(to, layer.indices));
          layer.dirty = false;
        }
        pass(layer.from, layer.to, layer.n, styles[name]);
      }
    },
    destroy() {
      for (const layer of layers.values()) { gl.deleteBuffer(layer.from); gl.deleteBuffer(layer.to); }
      gl.deleteBuffer(base.from);
      gl.deleteBuffer(base.to);
      gl.deleteProgram(program);
      gl.deleteShader(vs);
      gl.deleteShader(fs);
      // Browsers keep ~16 live contexts per page; give this one back now rather than at GC time.
      gl.getExtension("WEBGL_lose_context")?.loseContext();
    },
  };
}

/** The same interface on a 2-D canvas: slower (about 1 M points a second), but always there. */
export function createCanvasRenderer(canvas) {
  const ctx = canvas.getContext("2d");
  if (!ctx) return null;
  let from = new Float32Array(0), to = from;
  const layers = new Map();
  const css = (c) => `rgba(${Math.round(c[0] * 255)},${Math.round(c[1] * 255)},${Math.round(c[2] * 255)},${c[3]})`;
  return {
    kind: "2d",
    setPoints(a, b) { from = a; to = b; },
    setLayer(name, indices) { layers.set(name, indices); },
    draw({ xf, t, base, layers: styles, dpr = 1 }) {
      const w = canvas.width, h = canvas.height;
      ctx.clearRect(0, 0, w, h);
      const pass = (indices, s) => {
        if (!s) return;
        ctx.fillStyle = css(s.color);
        const size = Math.max(1, s.size * dpr);
        const half = size / 2;
        const n = indices ? indices.length : from.length / 2;
        for (let k = 0; k < n; k++) {
          const i = indices ? indices[k] : k;
          const x = from[2 * i] + (to[2 * i] - from[2 * i]) * t;
          const y = from[2 * i + 1] + (to[2 * i + 1] - from[2 * i + 1]) * t;
          const px = ((x * xf[0] + xf[2]) * 0.5 + 0.5) * w;
          const py = (0.5 - (y * xf[1] + xf[3]) * 0.5) * h;
          ctx.fillRect(px - half, py - half, size, size);
        }
      };
      pass(null, base);
      for (const name of LAYERS) if (layers.get(name)?.length) pass(layers.get(name), styles[name]);
    },
    destroy() { layers.clear(); },
  };
}
