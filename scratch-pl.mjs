import { loadSync } from '@grpc/proto-loader';
const def = loadSync('test/support/protos/echo.proto', {});
const m = def['mesh.test.Echo'].Unary;
console.log(Object.keys(m), m.originalName);
console.log(Object.keys(m.requestType), m.requestType.format);
console.log(JSON.stringify(m.requestType.type, null, 0).slice(0, 800));
console.log(m.requestType.fileDescriptorProtos.length);
const ser = m.requestSerialize;
console.log(ser({ replyBytes: 3, reply_bytes: 5 }));
console.log(m.responseDeserialize(ser({message:'x'})));
const k = loadSync('test/support/protos/echo.proto', {keepCase: true});
console.log(JSON.stringify(k['mesh.test.Echo'].Unary.requestType.type.field));
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
const fds = m.requestType.fileDescriptorProtos.map(b => descriptor.FileDescriptorProto.decode(b));
console.log(JSON.stringify(fds[0].messageType[0].field));
const kfds = k['mesh.test.Echo'].Unary.requestType.fileDescriptorProtos.map(b => descriptor.FileDescriptorProto.decode(b));
console.log(JSON.stringify(kfds[0].messageType[0].field));
const t = m.requestSerialize;
try { console.log('bigint', t({count: 5n})); } catch (e) { console.log('bigint err', e.message); }
try { console.log('null', t(null)); } catch (e) { console.log('null err', e.message); }
try { console.log('undef', t(undefined)); } catch (e) { console.log('undef err', e.message); }
console.log('str int', t({count: '7'}), t({count: 'abc'}));
