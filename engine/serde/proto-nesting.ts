/*
 * The nested message types of each message of a .proto file, in the order protoc puts them in the
 * message's descriptor (its nested_type list), which is what Confluent's message indexes count:
 * nested `message` and proto2 `group` declarations, and the entry type protoc makes for each
 * `map<K, V>` field, interleaved in the order they are written. protobufjs keeps nested types and
 * fields apart and makes no map entry types, so the order is read from the text.
 */

/** Per message (its dotted path in the file: `Order`, `Order.Line`): the names of its nested types in order, null for a map entry. */
export type NestingOrder = ReadonlyMap<string, readonly (string | null)[]>;

const TOKEN = /[A-Za-z_][\w.]*|[{}<>;=()[\],]|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\S/g;

export function nestingOrder(text: string): NestingOrder {
  const source = text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ');
  const tokens = source.match(TOKEN) ?? [];
  const order = new Map<string, (string | null)[]>();
  // The scopes open at each point: a message's path, or null for any other block.
  const stack: (string | null)[] = [];
  const current = (): string | null | undefined => stack[stack.length - 1];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const inMessage = current();
    if (t === '}') {
      stack.pop();
    } else if ((t === 'message' || t === 'group') && i + 1 < tokens.length && /^[A-Za-z_]\w*$/.test(tokens[i + 1]!) && (t === 'message' || typeof inMessage === 'string')) {
      // A group is `label group Name = N {`: its block follows the number.
      const name = tokens[i + 1]!;
      let open = i + 2;
      while (open < tokens.length && tokens[open] !== '{' && tokens[open] !== ';') open++;
      if (tokens[open] !== '{') continue;
      if (typeof inMessage === 'string') order.get(inMessage)!.push(name);
      const path = typeof inMessage === 'string' ? `${inMessage}.${name}` : name;
      order.set(path, []);
      stack.push(path);
      i = open;
    } else if (t === 'map' && tokens[i + 1] === '<' && typeof inMessage === 'string') {
      order.get(inMessage)!.push(null);
      i++;
    } else if (t === '{') {
      stack.push(null);
    }
  }
  return order;
}
